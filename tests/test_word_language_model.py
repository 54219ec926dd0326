"""The idioms of PyTorch's word-level language model example (``examples/word_language_model``:
a Transformer subclassing ``nn.Transformer``, a sinusoidal ``PositionalEncoding`` with a
registered buffer ``pe``, the causal masks built with ``triu``/``tril``, ``nn.init.uniform_``
/ ``zeros_``, ``F.log_softmax``, and its training step with ``clip_grad_norm_`` and
``p.data.add_``), written once here in that style and run by both libraries.

The program below receives the library as ``torch`` and uses nothing else: the oracle is
PyTorch running the same lines, with our model loaded from its state_dict.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cs as tg

# torch.log(torch.tril(ones)) takes log 0 = -inf on purpose (numpy says so; PyTorch does not)
pytestmark = [pytest.mark.filterwarnings("ignore:divide by zero encountered in log"),
              pytest.mark.filterwarnings("ignore::UserWarning:torch.*"),
              pytest.mark.usefixtures("one_numba_thread")]  # tiny layer norms: see conftest

NTOKEN, NINP, NHEAD, NHID, NLAYERS, BPTT, BSZ = 11, 8, 2, 16, 2, 6, 3


def program(torch):
    """The example's model, in the example's idioms, for library ``torch``."""
    nn, F = torch.nn, torch.nn.functional

    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, dropout=0.1, max_len=64):
            super().__init__()
            self.dropout = nn.Dropout(p=dropout)
            pe = torch.zeros(max_len, d_model)
            position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2).float()
                                 * (-math.log(10000.0) / d_model))
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)
            pe = pe.unsqueeze(0).transpose(0, 1)
            self.register_buffer("pe", pe)

        def forward(self, x):
            return self.dropout(x + self.pe[:x.size(0), :])

    class TransformerModel(nn.Transformer):
        def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.5):
            super().__init__(d_model=ninp, nhead=nhead, dim_feedforward=nhid,
                             num_encoder_layers=nlayers)
            self.src_mask = None
            self.pos_encoder = PositionalEncoding(ninp, dropout)
            self.input_emb = nn.Embedding(ntoken, ninp)
            self.ninp = ninp
            self.decoder = nn.Linear(ninp, ntoken)    # replaces nn.Transformer's decoder
            initrange = 0.1
            nn.init.uniform_(self.input_emb.weight, -initrange, initrange)
            nn.init.zeros_(self.decoder.bias)
            nn.init.uniform_(self.decoder.weight, -initrange, initrange)

        def _generate_square_subsequent_mask(self, sz):
            return torch.log(torch.tril(torch.ones(sz, sz)))

        def forward(self, src, has_mask=True):
            if has_mask:
                device = src.device
                if self.src_mask is None or self.src_mask.size(0) != len(src):
                    self.src_mask = self._generate_square_subsequent_mask(len(src)).to(device)
            else:
                self.src_mask = None
            src = self.input_emb(src) * math.sqrt(self.ninp)
            src = self.pos_encoder(src)
            output = self.encoder(src, mask=self.src_mask)
            return F.log_softmax(self.decoder(output), dim=-1)

    return TransformerModel(NTOKEN, NINP, NHEAD, NHID, NLAYERS, dropout=0.0)


def older_masks(torch, sz):
    """The older versions' causal masks: a float mask from a bool one, and triu of -inf."""
    mask = (torch.triu(torch.ones(sz, sz)) == 1).transpose(0, 1)
    mask = mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, 0.0)
    return mask, torch.triu(torch.ones(sz, sz) * float("-inf"), diagonal=1)


def without_dropout(torch, model):
    """nn.Transformer's layers keep their default dropout 0.1: off, so that both libraries
    take the same steps (their random streams differ)."""
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
        elif isinstance(m, torch.nn.MultiheadAttention):
            m.dropout = 0.0
    return model


def train_step(torch, model, data, targets, lr=0.5, clip=0.25):
    """main.py's step: NLL of the flattened log-probabilities, clipping, a manual SGD step."""
    criterion = torch.nn.NLLLoss()
    model.train()
    model.zero_grad()
    output = model(data)
    loss = criterion(output.view(-1, NTOKEN), targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    for p in model.parameters():
        p.data.add_(p.grad, alpha=-lr)
    return loss.item()


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _twins(torch):
    torch.manual_seed(0)
    theirs = without_dropout(torch, program(torch))
    ours = without_dropout(tg, program(tg))
    state = {k: v.numpy() for k, v in theirs.state_dict().items()}
    assert list(state) == list(ours.state_dict())
    ours.load_state_dict(state)
    return theirs, ours


def test_the_program_builds_the_same_modules(torch):
    theirs, ours = _twins(torch)
    assert ours.pos_encoder.pe.shape == (64, 1, NINP)
    np.testing.assert_allclose(ours.pos_encoder.pe.numpy(), theirs.pos_encoder.pe.numpy(),
                               rtol=1e-6, atol=1e-6)
    assert "decoder.weight" in ours.state_dict() and "decoder.layers.0.norm3.weight" not in \
        ours.state_dict()
    for module in (ours, theirs):     # the example's init, on either side
        assert np.abs(module.input_emb.weight.detach().numpy()).max() <= 0.1
        assert not module.decoder.bias.detach().numpy().any()


def test_the_masks_agree(torch):
    theirs, ours = _twins(torch)
    expected = tg.nn.Transformer.generate_square_subsequent_mask(5).numpy()
    np.testing.assert_array_equal(ours._generate_square_subsequent_mask(5).numpy(), expected)
    np.testing.assert_array_equal(theirs._generate_square_subsequent_mask(5).numpy(), expected)
    for ours_mask, their_mask in zip(older_masks(tg, 5), older_masks(torch, 5)):
        assert ours_mask.dtype == np.float32
        np.testing.assert_array_equal(ours_mask.numpy(), expected)
        np.testing.assert_array_equal(their_mask.numpy(), expected)


def test_forward_and_training_steps_match_pytorch(torch):
    theirs, ours = _twins(torch)
    rng = np.random.default_rng(0)
    source = rng.integers(0, NTOKEN, (BPTT + 1, BSZ))
    data, targets = source[:-1], source[1:].reshape(-1)
    theirs.eval(), ours.eval()
    with torch.no_grad(), tg.no_grad():
        np.testing.assert_allclose(ours(tg.tensor(data)).numpy(),
                                   theirs(torch.tensor(data)).numpy(), rtol=1e-4, atol=1e-5)
    for _ in range(3):
        loss = train_step(tg, ours, tg.tensor(data), tg.tensor(targets))
        ref = train_step(torch, theirs, torch.tensor(data), torch.tensor(targets))
        assert loss == pytest.approx(ref, rel=1e-4)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-3, atol=1e-5,
                                   err_msg=name)
    assert ours.src_mask.shape == (BPTT, BPTT)
