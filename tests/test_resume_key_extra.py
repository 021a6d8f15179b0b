"""``io.resume_key``'s ``extra`` determinants reach the key (a local variable once shadowed the
argument, so a file-layout version or a resolved dtype passed there changed nothing)."""

from replica import io


def _compute(a, executor=None):
    return a


def test_extra_determinants_change_the_key():
    exempt = {"executor": "does not change the result"}
    key = io.resume_key(_compute, {"a": 1}, exempt)
    assert io.resume_key(_compute, {"a": 1}, exempt, extra={}) == key
    k32 = io.resume_key(_compute, {"a": 1}, exempt, extra={"dtype": "float32"})
    k64 = io.resume_key(_compute, {"a": 1}, exempt, extra={"dtype": "float64"})
    assert len({key, k32, k64}) == 3
