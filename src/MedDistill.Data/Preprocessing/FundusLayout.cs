using System.Text.RegularExpressions;

namespace MedDistill.Data.Preprocessing;

/// <summary>
/// GKD's retinal vessel domains in one folder, each in its own archive's layout (the fundus phantom writes the same):
/// <list type="bullet">
/// <item><c>CHASE_DB1/Image_01L.jpg</c> with <c>Image_01L_1stHO.png</c> (the first observer; <c>_2ndHO</c> is ignored) →
/// site <see cref="Chase"/>, case <c>CHASE_DB1/Image_01L</c>.</item>
/// <item><c>STARE/stare-images/im0001.ppm(.gz)</c> with <c>STARE/labels-ah/im0001.ah.ppm(.gz)</c> (Hoover's labels; found
/// anywhere below <c>STARE/</c>) → site <see cref="Stare"/>, case <c>STARE/im0001</c>. Only labelled images are cases:
/// STARE's image archive holds 397 photographs of which 20 have vessel labels, so an unlabelled image is expected, not an
/// error; a label without its image is one.</item>
/// <item><c>DRIVE/{training,test}/images/21_training.tif</c> with <c>1st_manual/21_manual1.gif</c> and, when present,
/// <c>mask/21_training_mask.gif</c> as the case's FOV → site <see cref="Drive"/>, case <c>DRIVE/21_training</c>.</item>
/// </list>
/// Any subset of the three folders may be present. The lists (<see cref="DatasetSource.Lists"/>) are GKD's source/target
/// protocol with CHASE_DB1 as source: <b>train</b> = CHASE_DB1 subjects 01–10 (the first 20 images, the split CHASE_DB1
/// papers commonly use) and DRIVE's <c>training/</c>; <b>test</b> = CHASE_DB1 subjects 11–14 (the last 8 images), every
/// labelled STARE image and DRIVE's <c>test/</c>. The split protocol <c>source</c> then trains on one site's training
/// cases and tests on the whole test list.
/// </summary>
public static partial class FundusLayout
{
    public const string Chase = "CHASE_DB1", Stare = "STARE", Drive = "DRIVE";

    /// <summary>CHASE_DB1 subjects 01 up to this one train; the rest (11–14) test.</summary>
    public const int ChaseTrainSubjects = 10;

    public static IReadOnlyList<string> Sites { get; } = [Chase, Stare, Drive];

    [GeneratedRegex(@"^(?<case>Image_(?<subject>\d+)[LR])\.jpe?g$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ChaseImage();

    [GeneratedRegex(@"^(?<case>Image_\d+[LR])_1stHO\.png$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ChaseLabel();

    [GeneratedRegex(@"^(?<case>im\d+)\.ppm(\.gz)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex StareImage();

    [GeneratedRegex(@"^(?<case>im\d+)\.ah\.ppm(\.gz)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex StareLabel();

    [GeneratedRegex(@"^(?<case>(?<n>\d+)_(training|test))\.tiff?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DriveImage();

    [GeneratedRegex(@"^(?<n>\d+)_manual1\.gif$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DriveLabel();

    [GeneratedRegex(@"^(?<case>\d+_(training|test))_mask\.gif$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DriveMask();

    /// <summary>True when <paramref name="dir"/> holds at least one of the three domain folders.</summary>
    public static bool Matches(string dir) => Sites.Any(site => Directory.Exists(Path.Combine(dir, site)));

    public static DatasetSource Discover(string root, string? name = null)
    {
        var full = Path.GetFullPath(root);
        if (!Matches(full)) throw new DirectoryNotFoundException($"{full}: none of {string.Join(", ", Sites)} is there");
        var train = new List<string>();
        var test = new List<string>();
        var cases = new List<SourceCase>();
        var chaseDir = Path.Combine(full, Chase);
        if (Directory.Exists(chaseDir))
            foreach (var (id, image, label) in Pair(Directory.GetFiles(chaseDir), ChaseImage(), ChaseLabel(), m => m.Groups["case"].Value,
                         Chase, "<image>_1stHO.png", labelsRequired: true))
            {
                cases.Add(new SourceCase($"{Chase}/{id}", Chase, id, image, label));
                int subject = int.Parse(ChaseImage().Match(Path.GetFileName(image)).Groups["subject"].Value);
                (subject <= ChaseTrainSubjects ? train : test).Add($"{Chase}/{id}");
            }
        var driveDir = Path.Combine(full, Drive);
        foreach (var split in new[] { "training", "test" })
        {
            var dir = Path.Combine(driveDir, split);
            if (!Directory.Exists(dir)) continue;
            var masks = Index(Files(Path.Combine(dir, "mask")), DriveMask(), m => m.Groups["case"].Value);
            var labelFiles = Files(Path.Combine(dir, "1st_manual"));
            // DRIVE names a label by the image's number only (21_manual1.gif for 21_training.tif).
            foreach (var (id, image, label) in Pair(Files(Path.Combine(dir, "images")), DriveImage(), DriveLabel(), m => m.Groups["n"].Value,
                         $"{Drive}/{split}", "1st_manual/<NN>_manual1.gif", labelsRequired: true, labelFiles))
            {
                var caseName = Path.GetFileName(image).Split('.')[0];
                cases.Add(new SourceCase($"{Drive}/{caseName}", Drive, caseName, image, label) { FovPath = masks.GetValueOrDefault(caseName) });
                (split == "training" ? train : test).Add($"{Drive}/{caseName}");
            }
        }
        var stareDir = Path.Combine(full, Stare);
        if (Directory.Exists(stareDir))
            foreach (var (id, image, label) in Pair(Directory.GetFiles(stareDir, "*", SearchOption.AllDirectories), StareImage(), StareLabel(),
                         m => m.Groups["case"].Value, Stare, "labels-ah/<image>.ah.ppm(.gz)", labelsRequired: false))
            {
                cases.Add(new SourceCase($"{Stare}/{id}", Stare, id, image, label));
                test.Add($"{Stare}/{id}");
            }
        if (cases.Count == 0) throw new InvalidDataException($"{full}: no labelled {string.Join(", ", Sites)} images found");
        var lists = new Dictionary<string, IReadOnlyList<string>> { ["train"] = train, ["test"] = test };
        var ordered = cases.OrderBy(c => c.Site, StringComparer.Ordinal).ThenBy(c => c.Name, StringComparer.Ordinal).ToList();
        return new DatasetSource(name ?? Path.GetFileName(full), full, ordered) { Lists = lists };
    }

    private static string[] Files(string dir) => Directory.Exists(dir) ? Directory.GetFiles(dir) : [];

    /// <summary>
    /// Images and labels of one folder matched by case key, in ordinal order of the key. A label without an image always
    /// fails, an image without a label when <paramref name="labelsRequired"/>, each naming the file.
    /// </summary>
    private static IEnumerable<(string Id, string Image, string Label)> Pair(string[] files, Regex imagePattern, Regex labelPattern,
        Func<Match, string> key, string where, string labelDescription, bool labelsRequired, string[]? labelFiles = null)
    {
        var images = Index(files, imagePattern, key);
        var labels = Index(labelFiles ?? files, labelPattern, key);
        foreach (var (k, label) in labels)
            if (!images.ContainsKey(k)) throw new InvalidDataException($"{label}: label without an image in {where}");
        var result = new List<(string, string, string)>();
        foreach (var (k, image) in images.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (labels.TryGetValue(k, out var label)) result.Add((Path.GetFileName(image).Split('.')[0], image, label));
            else if (labelsRequired) throw new InvalidDataException($"{image}: no label {labelDescription} beside it");
        }
        return result;
    }

    private static Dictionary<string, string> Index(IEnumerable<string> files, Regex pattern, Func<Match, string> key)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            var m = pattern.Match(Path.GetFileName(file));
            if (!m.Success) continue;
            if (!map.TryAdd(key(m), file))
                throw new InvalidDataException($"{file}: case {key(m)} also has {map[key(m)]}; keep one of them");
        }
        return map;
    }
}
