using System.Security.Cryptography;
using System.Text;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Preprocessing;

/// <summary>
/// Reads a <see cref="SourceCase"/>'s image and label however the case is stored: one file each (NIfTI pairs), one
/// multi-array file with named arrays (Synapse's .npy.h5 test volumes), one 2D file per slice holding both (Synapse's
/// train_npz), or one 2D file per slice for each (CHAOS: DICOM images, PNG masks).
/// </summary>
internal static class SourceReading
{
    /// <summary>
    /// The image (<paramref name="label"/> false) or label volume of <paramref name="sc"/>. <paramref name="reader"/>, when
    /// given, replaces the format readers for cases stored one file per array (tests inject faults through it).
    /// </summary>
    public static Volume Read(SourceCase sc, bool label, Func<string, Volume>? reader)
    {
        var key = label ? sc.LabelKey : sc.ImageKey;
        if (sc.SlicesOf(label) is not { } slices)
        {
            var path = label ? sc.LabelPath : sc.ImagePath;
            return key is null && reader is not null ? reader(path) : VolumeReader.Read(path, key);
        }
        return Stack(slices, key);
    }

    /// <summary>The file a voxel of the (stacked) volume came from, for error messages.</summary>
    public static string FileOf(SourceCase sc, bool label, int voxel, int plane) =>
        sc.SlicesOf(label) is { } files ? files[Math.Min(voxel / plane, files.Count - 1)] : label ? sc.LabelPath : sc.ImagePath;

    private static Volume Stack(IReadOnlyList<string> files, string? key)
    {
        Volume? first = null;
        float[]? data = null;
        for (int z = 0; z < files.Count; z++)
        {
            var slice = VolumeReader.Read(files[z], key);
            if (slice.Rank != 2) throw new InvalidDataException($"{files[z]}: {key ?? "array"} has {slice.Rank} axes; a slice file holds one 2D slice");
            first ??= slice;
            if (!slice.Shape.SequenceEqual(first.Shape))
                throw new InvalidDataException($"{files[z]}: slice shape ({string.Join(", ", slice.Shape)}) differs from {files[0]} ({string.Join(", ", first.Shape)})");
            data ??= new float[files.Count * slice.Data.Length];
            slice.Data.CopyTo(data, z * slice.Data.Length);
        }
        if (first is null) throw new InvalidDataException("a sliced case has no slice files");
        return new Volume(data!, [files.Count, first.Shape[0], first.Shape[1]], [SliceSpacing(files, first, key), first.Spacing[0], first.Spacing[1]], first.StoredType);
    }

    /// <summary>
    /// DICOM slices carry their position, so the spacing is the first-to-last distance over the gaps; other 2D slice files
    /// carry none (their affine has no translation), and 1 is a placeholder, as for any 2D source.
    /// </summary>
    private static double SliceSpacing(IReadOnlyList<string> files, Volume first, string? key)
    {
        if (files.Count < 2 || VolumeReader.Detect(files[0]) != VolumeFormat.Dicom) return 1.0;
        var last = VolumeReader.Read(files[^1], key);
        double squares = 0;
        for (int r = 0; r < 3; r++) squares += Math.Pow(last.Affine[r, 3] - first.Affine[r, 3], 2);
        double spacing = Math.Sqrt(squares) / (files.Count - 1);
        return spacing > 0 ? spacing : 1.0;
    }

    /// <summary>
    /// One record standing for a sliced case's files: their count and first/last names as the path, total size, newest
    /// modification time, and a SHA-256 over every file's name and hash, so any edit, addition or removal changes it.
    /// </summary>
    public static SourceFileRecord CheckSlices(IReadOnlyList<string> files, SourceFileRecord? old, bool alwaysHash)
    {
        var infos = files.Select(f => new FileInfo(f)).ToArray();
        var missing = infos.FirstOrDefault(i => !i.Exists);
        if (missing is not null) throw new FileNotFoundException($"{missing.FullName}: source file does not exist", missing.FullName);
        var description = $"{infos[0].FullName} .. {infos[^1].Name} ({infos.Length} files)";
        long size = infos.Sum(i => i.Length);
        var modified = infos.Max(i => i.LastWriteTimeUtc);
        if (!alwaysHash && old is not null && old.Path == description && old.Size == size && old.ModifiedUtc == modified) return old;
        var listing = new StringBuilder();
        foreach (var info in infos)
        {
            using var stream = info.OpenRead();
            listing.Append(info.Name).Append(' ').Append(Convert.ToHexStringLower(SHA256.HashData(stream))).Append('\n');
        }
        return new SourceFileRecord(description, size, modified, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(listing.ToString()))));
    }
}
