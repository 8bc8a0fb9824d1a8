using System.Globalization;
using System.Text.Json.Nodes;

namespace MedDistill.Data.Volumes;

/// <summary>Whether <see cref="VolumeInspector"/> counts voxels per label value.</summary>
public enum LabelMode { Auto, Yes, No }

/// <summary>
/// The facts <c>meddistill inspect</c> prints about an image file: format, shape (C order, slowest axis first), spacing
/// (same order, mm), the 4×4 voxel-to-world affine (<see cref="Volume.Affine"/>, rows), stored type, min, max, mean, sum and, for label maps, the voxel count of every value.
/// <para>
/// Label rule for <see cref="LabelMode.Auto"/>: every value is a whole number, and either the stored type is an integer
/// type with at most <see cref="AutoMaxDistinct"/> distinct values, or the file name or key contains "seg", "label" or
/// "mask" (case-insensitive; TransUNet's float32 <c>label</c> arrays) with at most <see cref="NamedMaxDistinct"/>.
/// <see cref="LabelMode.Yes"/> counts any volume with at most <see cref="YesMaxDistinct"/> distinct values.
/// </para>
/// </summary>
public static class VolumeInspector
{
    public const int AutoMaxDistinct = 32;
    public const int NamedMaxDistinct = 1024;
    public const int YesMaxDistinct = 65536;

    private static readonly string[] LabelHints = { "seg", "label", "mask" };

    public static JsonObject Inspect(string path, string? key = null, LabelMode labels = LabelMode.Auto, ReadLimits? limits = null, string? palette = null)
    {
        var format = VolumeReader.Detect(path);
        var colours = palette is null ? null : ColourPalette.ByName(palette) ?? throw new ArgumentException($"unknown colour map \"{palette}\" (known: {ColourPalette.M2caiSeg.Name})");
        // A PNG under groundtruth/ or named *_gt.png is an M2caiSeg-style colour-coded mask unless a palette is named.
        if (colours is null && format == VolumeFormat.Png && LooksLikeColourMask(path)) colours = ColourPalette.M2caiSeg;
        if (colours is not null)
        {
            if (format != VolumeFormat.Png) throw new DataFormatException(path, $"a colour map applies to PNG masks, not to a {VolumeReader.Describe(format)} file");
            var mask = colours.ReadMask(path, limits);
            var result = Describe(mask, "png", path, key, LabelMode.Yes);
            result["palette"] = colours.Name;
            var present = (JsonObject)result["labels"]!;
            result["classes"] = new JsonArray(present.Select(p => (JsonNode)colours[int.Parse(p.Key, CultureInfo.InvariantCulture)].Name).ToArray());
            return result;
        }
        var volume = VolumeReader.Read(path, key, limits);
        return Describe(volume, VolumeReader.Describe(format), path, key, labels);
    }

    private static bool LooksLikeColourMask(string path) =>
        Path.GetFileNameWithoutExtension(path).EndsWith("_gt", StringComparison.OrdinalIgnoreCase)
        || string.Equals(Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(path))), "groundtruth", StringComparison.OrdinalIgnoreCase);

    public static JsonObject Describe(Volume volume, string format, string path, string? key, LabelMode labels)
    {
        var stats = Statistics.Of(volume.Data);
        var result = new JsonObject
        {
            ["file"] = path,
        };
        if (key is not null) result["key"] = key;
        result["format"] = format;
        result["shape"] = new JsonArray(volume.Shape.Select(n => (JsonNode)n).ToArray());
        result["spacing"] = new JsonArray(volume.Spacing.Select(s => (JsonNode)Shortest(s)).ToArray());
        result["affine"] = new JsonArray(Enumerable.Range(0, 4).Select(r =>
            (JsonNode)new JsonArray(Enumerable.Range(0, 4).Select(c => (JsonNode)Shortest(volume.Affine[r, c])).ToArray())).ToArray());
        result["dtype"] = VoxelDecoding.Name(volume.StoredType);
        result["voxels"] = volume.VoxelCount;
        result["min"] = stats.Counted > 0 ? Number(stats.Min) : null;
        result["max"] = stats.Counted > 0 ? Number(stats.Max) : null;
        result["mean"] = stats.Counted > 0 ? Number(stats.Sum / stats.Counted) : null;
        result["sum"] = Number(stats.Sum);
        if (stats.NaN > 0) result["nan"] = stats.NaN;

        var counts = labels switch
        {
            LabelMode.No => null,
            LabelMode.Yes => CountValues(volume.Data, stats, YesMaxDistinct)
                             ?? throw new DataFormatException(path, $"has more than {YesMaxDistinct} distinct values; not a label map (--labels yes)"),
            _ => AutoLabels(volume, stats, Hinted(path) || (key is not null && Hinted(key))),
        };
        if (counts is not null)
        {
            var map = new JsonObject();
            foreach (var (value, count) in counts.OrderBy(p => p.Key))
                map[value.ToString("R", CultureInfo.InvariantCulture)] = count;
            result["labels"] = map;
        }
        return result;
    }

    private static bool Hinted(string name)
    {
        var file = Path.GetFileName(name);
        return LabelHints.Any(h => file.Contains(h, StringComparison.OrdinalIgnoreCase));
    }

    private static SortedDictionary<float, long>? AutoLabels(Volume volume, Statistics stats, bool hinted)
    {
        if (!stats.AllWhole) return null;
        int limit = hinted ? NamedMaxDistinct : VoxelDecoding.IsInteger(volume.StoredType) ? AutoMaxDistinct : 0;
        return limit == 0 ? null : CountValues(volume.Data, stats, limit);
    }

    /// <summary>Voxels per distinct value, or null when there are more than <paramref name="maxDistinct"/> values.</summary>
    private static SortedDictionary<float, long>? CountValues(float[] data, Statistics stats, int maxDistinct)
    {
        var result = new SortedDictionary<float, long>();
        // Whole numbers in a modest range: a histogram array, one pass without hashing.
        if (stats.AllWhole && stats.Counted == data.LongLength && (double)stats.Max - stats.Min < 1 << 20)
        {
            long lo = (long)stats.Min;
            var histogram = new long[(long)stats.Max - lo + 1];
            foreach (var v in data) histogram[(long)v - lo]++;
            for (long i = 0; i < histogram.Length; i++)
                if (histogram[i] > 0)
                {
                    if (result.Count == maxDistinct) return null;
                    result[lo + i] = histogram[i];
                }
            return result;
        }
        var counts = new Dictionary<float, long>();
        foreach (var v in data)
        {
            ref long slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(counts, v, out bool existed);
            if (!existed && counts.Count > maxDistinct) return null;
            slot++;
        }
        foreach (var (k, c) in counts) result[k] = c;
        return result;
    }

    // JSON has no infinities: an image holding them reports "inf" / "-inf" as strings.
    private static JsonNode Number(float v) => float.IsFinite(v) ? v : (v > 0 ? "inf" : "-inf");
    private static JsonNode Number(double v) => double.IsFinite(v) ? v : double.IsNaN(v) ? "nan" : (v > 0 ? "inf" : "-inf");

    /// <summary>A spacing read from a float32 header printed as that float (0.3, not 0.30000001192092896).</summary>
    private static double Shortest(double s)
    {
        if (s == 0) return 0; // no -0 in the output
        float f = (float)s;
        return f == s ? double.Parse(f.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) : s;
    }

    private readonly record struct Statistics(float Min, float Max, double Sum, long Counted, long NaN, bool AllWhole)
    {
        public static Statistics Of(float[] data)
        {
            float min = float.PositiveInfinity, max = float.NegativeInfinity;
            double sum = 0;
            long nan = 0;
            bool whole = true;
            foreach (var v in data)
            {
                if (float.IsNaN(v)) { nan++; whole = false; continue; }
                if (v < min) min = v;
                if (v > max) max = v;
                sum += v;
                if (whole && (float.IsInfinity(v) || v != MathF.Floor(v))) whole = false;
            }
            return new Statistics(min, max, sum, data.LongLength - nan, nan, whole);
        }
    }
}
