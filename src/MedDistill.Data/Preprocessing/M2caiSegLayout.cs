using System.Globalization;
using System.Text.RegularExpressions;

namespace MedDistill.Data.Preprocessing;

/// <summary>
/// M2caiSeg as the Kaggle archive ships it (the laparoscopy phantom writes the same): split folders
/// <c>train/</c>, <c>test/</c> and <c>trainval/</c>, each with <c>images/N.jpg</c> (RGB frames) and
/// <c>groundtruth/N_gt.png</c> (colour-coded masks; <c>N.png</c> is accepted too, since public loaders disagree on
/// the name). Every frame is one case, a volume of depth 1: id <c>&lt;split&gt;/N</c>, site = the split folder.
/// Lists: <b>train</b> = <c>train/</c>, <b>test</b> = <c>test/</c>, in frame-number order. <c>trainval/</c> frames are
/// cached but in neither list: public loaders read that folder either as the validation frames or as train plus
/// validation (keeping only names not in <c>train/</c>), so using it for either role would be a guess; runs hold out a
/// fraction of <c>train/</c> for checkpoint selection instead, as for the CT sets.
/// </summary>
public static partial class M2caiSegLayout
{
    public const string Train = "train", Test = "test", TrainVal = "trainval";

    public static IReadOnlyList<string> Splits { get; } = [Train, Test, TrainVal];

    [GeneratedRegex(@"^(?<case>[^.]+)\.(jpe?g|png)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ImageName();

    [GeneratedRegex(@"^(?<case>[^.]+?)(_gt)?\.png$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex MaskName();

    /// <summary>True when <paramref name="dir"/> has <c>train/images</c> and <c>train/groundtruth</c>.</summary>
    public static bool Matches(string dir) =>
        Directory.Exists(Path.Combine(dir, Train, "images")) && Directory.Exists(Path.Combine(dir, Train, "groundtruth"));

    public static DatasetSource Discover(string root, string? name = null)
    {
        var full = Path.GetFullPath(root);
        if (!Matches(full)) throw new DirectoryNotFoundException($"{full}: no {Train}/images and {Train}/groundtruth folders (M2caiSeg's layout)");
        var cases = new List<SourceCase>();
        foreach (var split in Splits)
        {
            var dir = Path.Combine(full, split);
            if (!Directory.Exists(dir)) continue;
            cases.AddRange(SplitCases(dir, split));
        }
        var train = cases.Where(c => c.Site == Train).Select(c => c.Id).ToList();
        var test = cases.Where(c => c.Site == Test).Select(c => c.Id).ToList();
        if (train.Count == 0) throw new InvalidDataException($"{full}: {Train}/images holds no frames");
        var lists = new Dictionary<string, IReadOnlyList<string>> { ["train"] = train, ["test"] = test };
        return new DatasetSource(name ?? Path.GetFileName(full), full, cases) { Lists = lists };
    }

    private static IEnumerable<SourceCase> SplitCases(string dir, string split)
    {
        string imageDir = Path.Combine(dir, "images"), maskDir = Path.Combine(dir, "groundtruth");
        var images = Index(Directory.Exists(imageDir) ? Directory.GetFiles(imageDir) : [], ImageName());
        var masks = Index(Directory.Exists(maskDir) ? Directory.GetFiles(maskDir) : [], MaskName());
        foreach (var (key, mask) in masks)
            if (!images.ContainsKey(key)) throw new InvalidDataException($"{mask}: mask without a frame images/{key}.jpg in {split}/");
        foreach (var (key, image) in images.OrderBy(p => p.Key, FrameOrder.Instance))
        {
            if (!masks.TryGetValue(key, out var mask))
                throw new InvalidDataException($"{image}: no mask groundtruth/{key}_gt.png for it in {split}/");
            yield return new SourceCase($"{split}/{key}", split, key, image, mask);
        }
    }

    private static Dictionary<string, string> Index(IEnumerable<string> files, Regex pattern)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            var m = pattern.Match(Path.GetFileName(file));
            if (!m.Success) continue;
            var key = m.Groups["case"].Value;
            if (!map.TryAdd(key, file)) throw new InvalidDataException($"{file}: frame {key} also has {Path.GetFileName(map[key])}; keep one of them");
        }
        return map;
    }

    /// <summary>Numbered frames by number (2 before 10), anything else after them by name.</summary>
    private sealed class FrameOrder : IComparer<string>
    {
        public static readonly FrameOrder Instance = new();

        public int Compare(string? a, string? b)
        {
            bool na = long.TryParse(a, NumberStyles.None, CultureInfo.InvariantCulture, out long x);
            bool nb = long.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out long y);
            if (na && nb && x != y) return x.CompareTo(y);
            if (na != nb) return na ? -1 : 1;
            return string.CompareOrdinal(a, b);
        }
    }
}
