"""Tolerances for comparing two fp32 computations of the same value, valid on every backend.

Two kernels (oneDNN or ATen; AVX-512, AVX2 or ARM NEON) sum the same terms in different orders,
and each fp32 rounding moves a result by up to 6e-8 of its size. `FP32` covers one layer or one
step: hundreds of such roundings on values of order 1 stay below 1e-6 relative. `FP32_DEEP`
covers several recurrent steps, a softmax or a loss over many logits, where those errors
compound. Exact equality is kept only where it is exact by construction (same kernel, same
inputs, same seed).
"""
FP32 = {"rtol": 1e-5, "atol": 1e-6}
FP32_DEEP = {"rtol": 1e-4, "atol": 1e-5}
