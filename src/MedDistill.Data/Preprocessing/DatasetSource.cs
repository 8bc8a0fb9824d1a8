using System.Text.RegularExpressions;

namespace MedDistill.Data.Preprocessing;

/// <summary>One case of a source data set: an image file and its label file.</summary>
/// <param name="Id">Unique within the data set: <c>SITE/CaseNN</c> for the prostate layout.</param>
public sealed record SourceCase(string Id, string Site, string Name, string ImagePath, string LabelPath)
{
    /// <summary>Array of the image inside a multi-array file (an .npz member, an HDF5 dataset); null for single-image files.</summary>
    public string? ImageKey { get; init; }

    public string? LabelKey { get; init; }

    /// <summary>
    /// Set when the case is stored as one 2D file per slice (Synapse's train_npz), in slice order, each holding the image
    /// and the label under <see cref="ImageKey"/>/<see cref="LabelKey"/>; <see cref="ImagePath"/> is then the first of them.
    /// </summary>
    public IReadOnlyList<string>? SliceFiles { get; init; }

    /// <summary>
    /// Set when the labels are slice files of their own (CHAOS: DICOM images, PNG masks), file k labelling
    /// <see cref="SliceFiles"/>[k]; <see cref="LabelPath"/> is then the first of them. Null when <see cref="SliceFiles"/>
    /// hold both (Synapse).
    /// </summary>
    public IReadOnlyList<string>? LabelSliceFiles { get; init; }

    /// <summary>The data set's own field-of-view mask of the image (DRIVE's <c>mask/*_mask.gif</c>); null when it ships none.</summary>
    public string? FovPath { get; init; }

    /// <summary>The slice files of the image or the label, or null when the case is not stored one file per slice.</summary>
    internal IReadOnlyList<string>? SlicesOf(bool label) => label ? LabelSliceFiles ?? SliceFiles : SliceFiles;
}

/// <summary>The cases of one data set on disk, in a stable order (site, then case name).</summary>
public sealed record DatasetSource(string Name, string Root, IReadOnlyList<SourceCase> Cases)
{
    /// <summary>
    /// The data set's own split, role (train, test) → case ids, when it ships list files (Synapse, FLARE); null otherwise.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Lists { get; init; }
}

/// <summary>
/// The multi-site prostate layout of <c>Processed_data_nii</c> (and the phantom): <c>&lt;root&gt;/&lt;SITE&gt;/CaseNN.nii(.gz)</c>
/// with <c>CaseNN_Segmentation.nii(.gz)</c>; "segmentation" matched case-insensitively, since the real archive spells it
/// both ways.
/// </summary>
public static partial class ProstateLayout
{
    [GeneratedRegex(@"^(?<case>case\d+)\.nii(\.gz)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ImageName();

    [GeneratedRegex(@"^(?<case>case\d+)_segmentation\.nii(\.gz)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex LabelName();

    /// <summary>
    /// The folder whose subfolders are the sites: the dataset folder itself (the phantom) or the first folder below it, at
    /// most three levels down, that holds case images (the real archive extracts to Processed_data_nii/...).
    /// </summary>
    public static string FindRoot(string datasetDir, string name)
    {
        if (!Directory.Exists(datasetDir))
            throw new DirectoryNotFoundException(name == PhantomName
                ? $"{datasetDir} does not exist: create it with 'meddistill data phantom'"
                : $"{datasetDir} does not exist: fetch and extract it first ('meddistill data fetch {name}', then 'meddistill data extract {name}')");
        var queue = new Queue<(string dir, int depth)>([(datasetDir, 0)]);
        while (queue.Count > 0)
        {
            var (dir, depth) = queue.Dequeue();
            if (Directory.GetDirectories(dir).Any(site => Directory.EnumerateFiles(site)
                    .Any(f => Path.GetFileName(f).StartsWith("case", StringComparison.OrdinalIgnoreCase) && f.Contains(".nii", StringComparison.OrdinalIgnoreCase))))
                return dir;
            if (depth < 3)
                foreach (var sub in Directory.GetDirectories(dir).Order(StringComparer.Ordinal)) queue.Enqueue((sub, depth + 1));
        }
        throw new DirectoryNotFoundException($"{datasetDir}: no <SITE>/CaseNN.nii(.gz) folders found (extracted yet? or pass --source)");
    }


    /// <summary>The built-in phantom's data set name (made by <c>meddistill data phantom</c>, not downloaded).</summary>
    public const string PhantomName = "phantom-prostate";

    /// <summary>
    /// Every site folder under <paramref name="root"/> that holds case images. Fails, naming the file, when an image has no
    /// label, a label has no image, or a case has two images (e.g. both .nii and .nii.gz).
    /// </summary>
    public static DatasetSource Discover(string root, string? name = null)
    {
        var full = Path.GetFullPath(root);
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"{full}: data set folder does not exist");
        var cases = new List<SourceCase>();
        foreach (var siteDir in Directory.GetDirectories(full).Order(StringComparer.Ordinal))
        {
            var site = Path.GetFileName(siteDir);
            if (site.StartsWith('.')) continue;
            var images = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            var labels = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var file in Directory.GetFiles(siteDir))
            {
                var fileName = Path.GetFileName(file);
                Match m;
                if ((m = LabelName().Match(fileName)).Success) Add(labels, m.Groups["case"].Value, file);
                else if ((m = ImageName().Match(fileName)).Success) Add(images, m.Groups["case"].Value, file);
            }
            foreach (var (caseName, label) in labels)
                if (!images.ContainsKey(caseName)) throw new InvalidDataException($"{label}: label without an image {caseName}.nii(.gz) beside it");
            foreach (var (caseName, image) in images.OrderBy(p => p.Key, StringComparer.OrdinalIgnoreCase))
            {
                if (!labels.TryGetValue(caseName, out var label))
                    throw new InvalidDataException($"{image}: no label {caseName}_Segmentation.nii(.gz) beside it");
                var canonical = Path.GetFileName(image).Split('.')[0];
                cases.Add(new SourceCase($"{site}/{canonical}", site, canonical, image, label));
            }
        }
        if (cases.Count == 0) throw new InvalidDataException($"{full}: no <SITE>/CaseNN.nii(.gz) images found");
        return new DatasetSource(name ?? Path.GetFileName(full), full, cases);
    }

    private static void Add(Dictionary<string, string> map, string caseName, string file)
    {
        if (map.TryGetValue(caseName, out var other))
            throw new InvalidDataException($"{file}: case {caseName} also has {Path.GetFileName(other)}; keep one of them");
        map[caseName] = file;
    }
}
