namespace MedDistill.Data.Volumes;

/// <summary>How voxels were stored in the file a <see cref="Volume"/> came from (its values are always held as float).</summary>
public enum VoxelType { UInt8, Int8, UInt16, Int16, UInt32, Int32, UInt64, Int64, Float32, Float64 }

/// <summary>
/// A 2D or 3D image (or label map) in memory, whatever format it came from.
/// <para>
/// Axis order is C order, slowest axis first, like NumPy and SimpleITK's arrays: a NIfTI or MetaImage volume whose file
/// stores x fastest has <see cref="Shape"/> = (z, y, x), so <c>Data[(z * ny + y) * nx + x]</c>, and each axial slice is one
/// contiguous run of <c>ny * nx</c> values. <see cref="Spacing"/> follows the same order, in millimetres.
/// </para>
/// <para>
/// Values are float whatever the stored type (scale factors such as NIfTI's scl_slope already applied): every integer
/// label and CT/MR intensity in the papers' datasets is exact in float32.
/// </para>
/// </summary>
public sealed class Volume
{
    public Volume(float[] data, int[] shape, double[]? spacing = null, VoxelType storedType = VoxelType.Float32, double[,]? affine = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length is < 1 or > 4) throw new ArgumentException($"a volume has 1 to 4 axes, not {shape.Length}", nameof(shape));
        long count = 1;
        foreach (var n in shape)
        {
            if (n <= 0) throw new ArgumentException($"shape ({string.Join(", ", shape)}) has an empty or negative axis", nameof(shape));
            count *= n;
        }
        if (count != data.Length) throw new ArgumentException($"shape ({string.Join(", ", shape)}) holds {count} voxels but data has {data.Length}", nameof(data));
        spacing ??= Enumerable.Repeat(1.0, shape.Length).ToArray();
        if (spacing.Length != shape.Length) throw new ArgumentException($"spacing has {spacing.Length} values for {shape.Length} axes", nameof(spacing));
        if (affine is not null && (affine.GetLength(0) != 4 || affine.GetLength(1) != 4)) throw new ArgumentException("affine must be 4×4", nameof(affine));
        Data = data;
        Shape = (int[])shape.Clone();
        Spacing = (double[])spacing.Clone();
        StoredType = storedType;
        Affine = affine ?? DefaultAffine(Spacing);
    }

    /// <summary>Voxel values, C order (see the class remarks).</summary>
    public float[] Data { get; }

    /// <summary>Axis lengths, slowest first: (z, y, x) for a 3D image, (y, x) for a 2D one.</summary>
    public int[] Shape { get; }

    /// <summary>Voxel size per axis of <see cref="Shape"/>, in millimetres.</summary>
    public double[] Spacing { get; }

    public VoxelType StoredType { get; }

    /// <summary>
    /// 4×4 map from voxel index (i, j, k) = (x, y, z), i.e. <see cref="Shape"/> reversed, to world millimetres (NIfTI's
    /// RAS+ convention when read from NIfTI). Without orientation information: diagonal of the spacings.
    /// </summary>
    public double[,] Affine { get; }

    public int Rank => Shape.Length;
    public long VoxelCount => Data.LongLength;

    /// <summary>The contiguous values of index <paramref name="index"/> along the slowest axis (an axial slice of a 3D volume).</summary>
    public Span<float> Slice(int index)
    {
        if (Rank < 2) throw new InvalidOperationException("a 1D volume has no slices");
        if ((uint)index >= (uint)Shape[0]) throw new ArgumentOutOfRangeException(nameof(index), $"slice {index} of {Shape[0]}");
        int per = (int)(VoxelCount / Shape[0]);
        return Data.AsSpan(index * per, per);
    }

    private static double[,] DefaultAffine(double[] spacing)
    {
        var a = new double[4, 4];
        // Voxel index order is the reverse of Shape (x first).
        for (int i = 0; i < Math.Min(3, spacing.Length); i++) a[i, i] = spacing[spacing.Length - 1 - i];
        for (int i = spacing.Length; i < 3; i++) a[i, i] = 1;
        a[3, 3] = 1;
        return a;
    }
}

/// <summary>A file that cannot be read as what it claims to be; the message names the file and the problem.</summary>
public sealed class DataFormatException : Exception
{
    public DataFormatException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        FilePath = path;
        Problem = problem;
    }

    public string FilePath { get; }
    public string Problem { get; }
}
