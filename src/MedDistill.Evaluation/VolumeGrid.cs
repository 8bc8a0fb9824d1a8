namespace MedDistill.Evaluation;

/// <summary>
/// The lattice a label volume lives on: its size in voxels and its voxel spacing in millimetres, both in C order (z, y, x),
/// the order in which the coordinator stacks predicted slices (<c>labels[(z * Height + y) * Width + x]</c>).
/// </summary>
public readonly record struct VolumeGrid
{
    public int Depth { get; }
    public int Height { get; }
    public int Width { get; }
    public double SpacingZ { get; }
    public double SpacingY { get; }
    public double SpacingX { get; }

    public VolumeGrid(int depth, int height, int width, double spacingZ, double spacingY, double spacingX)
    {
        if (depth <= 0 || height <= 0 || width <= 0)
            throw new ArgumentOutOfRangeException(nameof(depth), $"volume size must be positive in every axis, got ({depth}, {height}, {width})");
        if ((long)depth * height * width > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(depth), $"volume ({depth}, {height}, {width}) has more voxels than an array can hold");
        foreach (var s in new[] { spacingZ, spacingY, spacingX })
            if (!(s > 0) || double.IsInfinity(s))
                throw new ArgumentOutOfRangeException(nameof(spacingZ), $"voxel spacing must be positive and finite, got ({spacingZ}, {spacingY}, {spacingX}) mm");
        Depth = depth; Height = height; Width = width;
        SpacingZ = spacingZ; SpacingY = spacingY; SpacingX = spacingX;
    }

    /// <summary>From a shape (z, y, x) and a spacing (z, y, x) in mm, as the preprocessing cache stores them.</summary>
    public static VolumeGrid FromShape(ReadOnlySpan<int> shape, ReadOnlySpan<double> spacing)
    {
        if (shape.Length != 3) throw new ArgumentException($"shape must have 3 entries (z, y, x), got {shape.Length}", nameof(shape));
        if (spacing.Length != 3) throw new ArgumentException($"spacing must have 3 entries (z, y, x), got {spacing.Length}", nameof(spacing));
        return new VolumeGrid(shape[0], shape[1], shape[2], spacing[0], spacing[1], spacing[2]);
    }

    public int VoxelCount => Depth * Height * Width;

    /// <summary>
    /// Length in mm of the diagonal of the box the volume covers (each axis: voxel count × spacing). Strictly longer than any
    /// distance between two voxel centres, so it is a finite worst case for a surface distance.
    /// </summary>
    public double PhysicalDiagonalMm
    {
        get
        {
            double z = Depth * SpacingZ, y = Height * SpacingY, x = Width * SpacingX;
            return Math.Sqrt(z * z + y * y + x * x);
        }
    }

    internal void CheckLength(int length, string name)
    {
        if (length != VoxelCount)
            throw new ArgumentException($"{name} has {length} voxels but the volume ({Depth}, {Height}, {Width}) has {VoxelCount}", name);
    }

    public override string ToString() =>
        FormattableString.Invariant($"({Depth}, {Height}, {Width}) voxels of ({SpacingZ}, {SpacingY}, {SpacingX}) mm");
}
