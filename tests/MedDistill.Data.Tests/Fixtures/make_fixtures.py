#!/usr/bin/env python3
"""Writes the small fixtures Hdf5Tests and NpyTests read, with h5py and NumPy (Debian: apt-get install python3-h5py
python3-numpy): real-world files to cross-check readers otherwise tested on files built from the specifications.

Run from this folder: python3 make_fixtures.py. The values are formulas the tests recompute independently:
  f(z, y, x) = (100 z + 10 y + x) / 8        g(z, y, x) = (z + y + x) % 3        h(z, y, x) = 100 z + 10 y + x - 300
"""
import h5py
import numpy as np


def grid(shape, fn, dtype):
    z, y, x = np.indices(shape)
    return fn(z, y, x).astype(dtype)


f = lambda z, y, x: (100 * z + 10 * y + x) / 8
g = lambda z, y, x: (z + y + x) % 3
h = lambda z, y, x: 100 * z + 10 * y + x - 300

# 1. h5py's defaults (libver='earliest': superblock 0, v1 object headers, symbol-table groups, contiguous layout),
#    as TransUNet's test_vol_h5/caseXXXX.npy.h5 volumes: datasets "image" (float32) and "label".
with h5py.File("h5py_default.h5", "w") as out:
    out.create_dataset("image", data=grid((3, 4, 5), f, "<f4"))
    out.create_dataset("label", data=grid((3, 4, 5), g, "u1"))

# 2. Chunked with edge chunks, shuffle + gzip + fletcher32, a big-endian type, bool, and a nested group.
with h5py.File("h5py_chunked_gzip.h5", "w") as out:
    out.create_dataset("image", data=grid((5, 6, 7), h, ">i2"), chunks=(2, 4, 3), compression="gzip",
                       compression_opts=4, shuffle=True, fletcher32=True)
    out.create_dataset("label", data=grid((5, 6, 7), lambda z, y, x: (x + y) % 2 == 0, bool), chunks=(5, 6, 7),
                       compression="gzip")
    out.create_group("group").create_dataset("volume", data=grid((2, 3, 4), f, "<f8"))

# 3. libver='latest': superblock 3, v2 object headers ("OHDR"), link messages, layout message v4. Contiguous data;
#    "single": one chunk the size of the dataset, deflated (single-chunk index); "implicit": unfiltered chunks
#    allocated early (implicit index); "chunked": a fixed-array chunk index (PureHDF reads it; our former reader refused it).
with h5py.File("h5py_latest.h5", "w", libver="latest") as out:
    out.create_dataset("image", data=grid((2, 3, 4), f, "<f8"))
    out.create_dataset("label", data=grid((2, 3, 4), g, "<i4"))
    out.create_dataset("chunked", data=grid((4, 4, 4), g, "<i4"), chunks=(2, 2, 2))
    out.create_dataset("single", data=grid((2, 3, 4), f, "<f4"), chunks=(2, 3, 4), compression="gzip")
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk((1, 2, 3))
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    implicit = h5py.h5d.create(out.id, b"implicit", h5py.h5t.IEEE_F32LE, h5py.h5s.create_simple((2, 3, 4)), dcpl=dcpl)
    implicit.write(h5py.h5s.ALL, h5py.h5s.ALL, grid((2, 3, 4), f, "<f4"))

# 4. NumPy: a TransUNet-style train_npz slice (np.savez_compressed: deflated members "image" float32, "label"
#    float32) and a Fortran-ordered big-endian .npy.
np.savez_compressed("numpy_slice.npz", image=grid((1, 4, 5), f, "<f4")[0], label=grid((1, 4, 5), g, "<f4")[0])
np.save("numpy_fortran.npy", np.asfortranarray(grid((2, 3, 4), h, ">i4")))
