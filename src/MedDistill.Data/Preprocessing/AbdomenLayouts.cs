using System.Text.RegularExpressions;

namespace MedDistill.Data.Preprocessing;

/// <summary>
/// FLARE22's layout: <c>imagesTr/&lt;case&gt;_0000.nii(.gz)</c> (the nnU-Net channel suffix) with
/// <c>labelsTr/&lt;case&gt;.nii(.gz)</c>; every case in one site, <see cref="Site"/>. <c>train.txt</c>/<c>test.txt</c>
/// beside them, one case id per line, become <see cref="DatasetSource.Lists"/>.
/// </summary>
public static partial class FlareLayout
{
    public const string Site = "FLARE22";

    [GeneratedRegex(@"^(?<case>.+)_0000\.nii(\.gz)?$", RegexOptions.CultureInvariant)]
    private static partial Regex ImageName();

    [GeneratedRegex(@"^(?<case>.+)\.nii(\.gz)?$", RegexOptions.CultureInvariant)]
    private static partial Regex LabelName();

    public static bool Matches(string dir) => Directory.Exists(Path.Combine(dir, "imagesTr"));

    public static DatasetSource Discover(string root, string? name = null)
    {
        var full = Path.GetFullPath(root);
        var images = Index(Path.Combine(full, "imagesTr"), ImageName());
        var labels = Index(Path.Combine(full, "labelsTr"), LabelName());
        foreach (var (id, label) in labels)
            if (!images.ContainsKey(id)) throw new InvalidDataException($"{label}: label without an image imagesTr/{id}_0000.nii(.gz)");
        var cases = new List<SourceCase>();
        foreach (var (id, image) in images.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!labels.TryGetValue(id, out var label)) throw new InvalidDataException($"{image}: no label labelsTr/{id}.nii(.gz)");
            cases.Add(new SourceCase(id, Site, id, image, label));
        }
        if (cases.Count == 0) throw new InvalidDataException($"{full}: no imagesTr/<case>_0000.nii(.gz) images found");
        var lists = ListFiles.Read(full, "train.txt", "test.txt", id => id) ?? DefaultLists(cases.Select(c => c.Id).ToList());
        return new DatasetSource(name ?? Path.GetFileName(full), full, cases) { Lists = lists };
    }

    /// <summary>Share of the cases, in case order, that trains when the folder has no train.txt/test.txt.</summary>
    public const double DefaultTrainShare = 0.8;

    /// <summary>
    /// FLARE22 ships its 50 labelled cases without a split, and the split the ACW-SKD lab used (40/10) is not public: without
    /// list files the first 80 % in case order train and the rest test (40/10 for the 50 cases), the rule the phantom writes too.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> DefaultLists(IReadOnlyList<string> ids)
    {
        int train = (int)Math.Round(ids.Count * DefaultTrainShare, MidpointRounding.AwayFromZero);
        return new Dictionary<string, IReadOnlyList<string>> { ["train"] = ids.Take(train).ToList(), ["test"] = ids.Skip(train).ToList() };
    }

    private static Dictionary<string, string> Index(string dir, Regex pattern)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: FLARE folder missing");
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(dir).Order(StringComparer.Ordinal))
        {
            var m = pattern.Match(Path.GetFileName(file));
            if (!m.Success) continue;
            if (!map.TryAdd(m.Groups["case"].Value, file))
                throw new InvalidDataException($"{file}: case {m.Groups["case"].Value} also has {Path.GetFileName(map[m.Groups["case"].Value])}; keep one of them");
        }
        return map;
    }
}

/// <summary>
/// TransUNet's preprocessed Synapse: <c>test_vol_h5/caseXXXX.npy.h5</c> volumes (datasets <c>image</c>, <c>label</c>)
/// and <c>train_npz/caseXXXX_sliceYYY.npz</c> slices, which are grouped back into one volume per case in slice order,
/// so splits stay by patient. <c>lists_Synapse/train.txt</c> (slice names) and <c>test_vol.txt</c> (case names), in the
/// folder or in <c>lists/</c> below it, become <see cref="DatasetSource.Lists"/>.
/// </summary>
public static partial class SynapseLayout
{
    public const string Site = "Synapse";

    [GeneratedRegex(@"^(?<case>case\d+)_slice(?<slice>\d+)\.npz$", RegexOptions.CultureInvariant)]
    private static partial Regex SliceName();

    [GeneratedRegex(@"^(?<case>case\d+)\.npy\.h5$", RegexOptions.CultureInvariant)]
    private static partial Regex VolumeName();

    public static bool Matches(string dir) => Directory.Exists(Path.Combine(dir, "train_npz")) || Directory.Exists(Path.Combine(dir, "test_vol_h5"));

    /// <summary>The case a train.txt entry (<c>case0005_slice012</c>) or test_vol.txt entry (<c>case0008</c>) belongs to.</summary>
    public static string CaseOf(string entry)
    {
        int cut = entry.IndexOf("_slice", StringComparison.Ordinal);
        return cut < 0 ? entry : entry[..cut];
    }

    public static DatasetSource Discover(string root, string? name = null)
    {
        var full = Path.GetFullPath(root);
        var cases = new Dictionary<string, SourceCase>(StringComparer.Ordinal);
        var trainDir = Path.Combine(full, "train_npz");
        if (Directory.Exists(trainDir))
        {
            var groups = Directory.GetFiles(trainDir)
                .Select(f => (File: f, Match: SliceName().Match(Path.GetFileName(f))))
                .Where(x => x.Match.Success)
                .GroupBy(x => x.Match.Groups["case"].Value, StringComparer.Ordinal);
            foreach (var g in groups)
            {
                // Slice numbers sort numerically (slice9 before slice10) and must not repeat (slice07 and slice7).
                var ordered = g.OrderBy(x => int.Parse(x.Match.Groups["slice"].Value)).ToList();
                var dup = ordered.GroupBy(x => int.Parse(x.Match.Groups["slice"].Value)).FirstOrDefault(d => d.Count() > 1);
                if (dup is not null) throw new InvalidDataException($"{dup.Last().File}: slice {dup.Key} of {g.Key} also in {Path.GetFileName(dup.First().File)}");
                var files = ordered.Select(x => x.File).ToArray();
                cases[g.Key] = new SourceCase(g.Key, Site, g.Key, files[0], files[0]) { ImageKey = "image", LabelKey = "label", SliceFiles = files };
            }
        }
        var testDir = Path.Combine(full, "test_vol_h5");
        if (Directory.Exists(testDir))
            foreach (var file in Directory.GetFiles(testDir))
            {
                var m = VolumeName().Match(Path.GetFileName(file));
                if (!m.Success) continue;
                var id = m.Groups["case"].Value;
                if (cases.ContainsKey(id)) throw new InvalidDataException($"{file}: case {id} is also in train_npz; a case is either slices or a volume");
                cases[id] = new SourceCase(id, Site, id, file, file) { ImageKey = "image", LabelKey = "label" };
            }
        if (cases.Count == 0) throw new InvalidDataException($"{full}: no train_npz/caseXXXX_sliceYYY.npz or test_vol_h5/caseXXXX.npy.h5 found");
        var listDir = new[] { Path.Combine(full, "lists_Synapse"), Path.Combine(full, "lists", "lists_Synapse") }.FirstOrDefault(Directory.Exists);
        var lists = listDir is null ? null : ListFiles.Read(listDir, "train.txt", "test_vol.txt", CaseOf);
        return new DatasetSource(name ?? Path.GetFileName(full), full, cases.Values.OrderBy(c => c.Id, StringComparer.Ordinal).ToArray()) { Lists = lists };
    }
}

/// <summary>Picks the layout of a data set folder by what it holds.</summary>
public static class DatasetLayouts
{
    /// <summary>
    /// The cases under <paramref name="datasetDir"/>: the FLARE, Synapse, fundus (CHASE_DB1/STARE/DRIVE), liver
    /// (CHAOS/LiTS) or M2caiSeg (train/images + train/groundtruth) layout when the folder (or one up to three levels below, where archives extract) holds its marker
    /// folders, else the prostate layout.
    /// </summary>
    public static DatasetSource Discover(string datasetDir, string name)
    {
        if (!Directory.Exists(datasetDir))
            throw new DirectoryNotFoundException(name.StartsWith("phantom-", StringComparison.Ordinal)
                ? $"{datasetDir} does not exist: create it with 'meddistill data phantom {name["phantom-".Length..]}'"
                : $"{datasetDir} does not exist: fetch and extract it first ('meddistill data fetch {name}', then 'meddistill data extract {name}')");
        var queue = new Queue<(string Dir, int Depth)>([(datasetDir, 0)]);
        while (queue.Count > 0)
        {
            var (dir, depth) = queue.Dequeue();
            if (FlareLayout.Matches(dir)) return FlareLayout.Discover(dir, name);
            if (SynapseLayout.Matches(dir)) return SynapseLayout.Discover(dir, name);
            if (FundusLayout.Matches(dir)) return FundusLayout.Discover(dir, name);
            if (LiverLayout.Matches(dir)) return LiverLayout.Discover(dir, name);
            if (M2caiSegLayout.Matches(dir)) return M2caiSegLayout.Discover(dir, name);
            if (depth < 3)
                foreach (var sub in Directory.GetDirectories(dir).Order(StringComparer.Ordinal)) queue.Enqueue((sub, depth + 1));
        }
        return ProstateLayout.Discover(ProstateLayout.FindRoot(datasetDir, name), name);
    }
}

/// <summary>Reads a data set's train/test list files (one entry per line) into role → distinct case ids, in list order.</summary>
internal static class ListFiles
{
    /// <returns>Null when neither file exists: the data set then has no own split.</returns>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>>? Read(string dir, string trainFile, string testFile, Func<string, string> caseOf)
    {
        string train = Path.Combine(dir, trainFile), test = Path.Combine(dir, testFile);
        if (!File.Exists(train) && !File.Exists(test)) return null;
        return new Dictionary<string, IReadOnlyList<string>>
        {
            ["train"] = Lines(train, caseOf),
            ["test"] = Lines(test, caseOf),
        };
    }

    private static IReadOnlyList<string> Lines(string path, Func<string, string> caseOf) =>
        File.Exists(path)
            ? File.ReadLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).Select(caseOf).Distinct(StringComparer.Ordinal).ToArray()
            : [];
}
