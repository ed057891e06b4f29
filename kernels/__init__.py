"""Fast kernels: Triton (GPU) and numba (CPU), each matching a function of :mod:`mocap_fast.reference`.

Importing this package never requires a GPU.
"""
