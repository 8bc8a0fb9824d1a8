using PureHDF;

namespace MedDistill.Data.Volumes;

/// <summary>
/// Writes numeric datasets into a new HDF5 file with PureHDF's writer (the same library that reads them, see
/// <see cref="Hdf5"/>): the layout TransUNet's <c>test_vol_h5/caseXXXX.npy.h5</c> files have, datasets <c>image</c> and
/// <c>label</c> of shape (D, H, W) in the root group. Contiguous, unfiltered storage, like h5py's default.
/// </summary>
public static class Hdf5Writer
{
    /// <summary>Writes the datasets in the order given; float32 or uint8 elements. The file appears only when complete.</summary>
    public static void Write(string path, IReadOnlyList<(string Name, Volume Volume, VoxelType StoreAs)> datasets)
    {
        ArgumentNullException.ThrowIfNull(datasets);
        if (datasets.Count == 0) throw new ArgumentException("an HDF5 file needs at least one dataset", nameof(datasets));
        var file = new H5File();
        foreach (var (name, volume, storeAs) in datasets)
        {
            if (string.IsNullOrEmpty(name) || name.Contains('/')) throw new ArgumentException($"\"{name}\" is not a usable dataset name", nameof(datasets));
            if (file.ContainsKey(name)) throw new ArgumentException($"dataset \"{name}\" appears twice", nameof(datasets));
            var dims = volume.Shape.Select(n => (ulong)n).ToArray();
            // PureHDF takes a flat array plus the file's dimensions, so no multi-dimensional copy is needed.
            object data = storeAs switch
            {
                VoxelType.Float32 => volume.Data,
                VoxelType.UInt8 => volume.Data.Select(v => (byte)Math.Clamp(MathF.Round(v), 0, 255)).ToArray(),
                _ => throw new ArgumentException($"HDF5 writing supports float32 and uint8, not {storeAs}", nameof(datasets)),
            };
            file[name] = new H5Dataset(data, fileDims: dims);
        }

        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = $"{full}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            file.Write(tmp);
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
