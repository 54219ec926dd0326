"""The table of PyTorch names tinygrad_cs leaves out (``tinygrad_cs/unsupported.py``): the
AttributeErrors it gives, and, when torch is installed, its honesty (every listed name is
PyTorch's and missing here) and its completeness (every public PyTorch name of the six
namespaces is implemented here or classified)."""
import _torch_surface as surface  # tests/ is on sys.path under pytest (rootdir-relative import)
import numpy as np
import pytest

import tinygrad_cs as tg
import tinygrad_cs.nn.functional as F
from tinygrad_cs import unsupported


@pytest.mark.parametrize("get,text", [
    (lambda: tg.sparse_coo_tensor, "torch.sparse_coo_tensor: sparse tensors"),
    (lambda: tg.quantize_per_tensor, "torch.quantize_per_tensor: quantization"),
    (lambda: tg.tensor([1.0]).to_sparse, "torch.Tensor.to_sparse: sparse tensors"),
    (lambda: tg.tensor([1.0]).svd, "torch.Tensor.svd: linear-algebra"),
    (lambda: tg.nn.Conv3d, "torch.nn.Conv3d: 3-D"),
    (lambda: tg.nn.LazyLinear, "torch.nn.LazyLinear: lazy modules"),
    (lambda: F.conv3d, "torch.nn.functional.conv3d: 3-D"),
    (lambda: tg.optim.SparseAdam, "torch.optim.SparseAdam: sparse"),
    (lambda: tg.utils.data.DistributedSampler, "DistributedSampler: distributed"),
    (lambda: tg.tensor([1.0]).cumsum_,
     "cumsum_: the in-place form is not provided: use the out-of-place cumsum()"),
    (lambda: tg.tensor([1.0]).erfc_, "erfc_: the in-place form of erfc, which is left out: special"),
    (lambda: tg.batch_norm, "torch.batch_norm: use its torch.nn.functional form"),
    (lambda: tg.nn.EmbeddingBag, "torch.nn.EmbeddingBag: not implemented yet"),
])
def test_left_out_names_say_why(get, text):
    with pytest.raises(AttributeError, match="tinygrad_cs does not support") as info:
        get()
    assert text in str(info.value)


def test_unknown_and_private_names_raise_the_usual_error():
    for get, message in [(lambda: tg.no_such_name, "module 'tinygrad_cs' has no attribute"),
                         (lambda: tg.nn.NoSuchLayer, "module 'tinygrad_cs.nn' has no attribute"),
                         (lambda: F.no_such_fn, "'tinygrad_cs.nn.functional' has no attribute"),
                         (lambda: tg.tensor(1.0).no_such, "'Tensor' object has no attribute"),
                         (lambda: tg.tensor(1.0)._no_such, "'Tensor' object has no attribute")]:
        with pytest.raises(AttributeError, match=message) as info:
            get()
        assert "does not support" not in str(info.value)
    assert not hasattr(tg.tensor(1.0), "to_sparse") and hasattr(tg.tensor(1.0), "sort")
    assert tg.tensor(1.0).is_sparse is False  # implemented names are never shadowed


def test_table_lookups_only_happen_for_missing_names():
    assert unsupported.reason("torch", "sort") is None  # not listed: tg.sort exists
    assert unsupported.reason("torch", "_private") is None
    assert unsupported.reason("Tensor", "qr").startswith("linear-algebra")


# -- against PyTorch ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def survey():
    pytest.importorskip("torch")
    theirs, ours = surface.torch_namespaces(), surface.our_namespaces()
    names = {ns: set(surface.public_names(obj)) for ns, obj in theirs.items()}
    return theirs, ours, names


def test_every_listed_name_is_pytorchs_and_missing_here(survey):
    _, ours, names = survey
    wrong = []
    for namespaces, why, listed in unsupported.GROUPS:
        for name in listed.split():
            where = [ns for ns in namespaces if name in names[ns]]
            if not where:
                wrong.append(f"{name}: not a public name of {namespaces} in PyTorch")
            wrong += [f"{ns}.{name}: implemented here, yet listed ({why})" for ns in where
                      if surface.has(ours[ns], name)]
    assert not wrong, "\n".join(wrong)


def test_every_family_matches_names_missing_here(survey):
    _, ours, names = survey
    stale = []
    for namespaces, why, patterns in unsupported.FAMILIES:
        for pattern in patterns.split():
            hits = [(ns, n) for ns in namespaces for n in names[ns]
                    if unsupported.fnmatchcase(n, pattern) and not surface.has(ours[ns], n)]
            if not hits:
                stale.append(f"{pattern} ({why}) matches no PyTorch name missing here")
    assert not stale, "\n".join(stale)


def test_every_public_pytorch_name_is_implemented_or_classified(survey):
    report = surface.survey()
    neither = {unsupported.PREFIX[ns]: names for ns, (_, _, names) in report.items() if names}
    assert not neither, f"public PyTorch names neither implemented nor in unsupported.py: " \
                        f"{neither}"


def test_not_yet_names_are_ranked_once(survey):
    pairs = unsupported.not_yet()
    assert len(pairs) == len(set(pairs))
    assert pairs[0] == ("data", "IterableDataset")
    assert np.all([isinstance(ns, str) for ns, _ in pairs])


def test_every_refused_tensor_name_raises_the_tables_error():
    # Tensor has no __getattr__ (it would slow every attribute access): each PyTorch name
    # the table leaves out is a class attribute that raises; none may be missed
    torch = pytest.importorskip("torch")
    t = tg.ones(2, 2)  # 2-D: properties such as mT exist on it
    refused = 0
    for name in dir(torch.Tensor):
        if name.startswith("_") or hasattr(t, name) or unsupported.reason(
                "Tensor", name, lambda b: hasattr(t, b)) is None:
            continue
        with pytest.raises(AttributeError, match="tinygrad_cs does not support"):
            getattr(t, name)
        assert getattr(t, name, None) is None
        refused += 1
    assert refused > 100
    assert not hasattr(type(t), "__getattr__")
