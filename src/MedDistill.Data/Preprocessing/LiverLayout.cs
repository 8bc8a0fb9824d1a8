using System.Globalization;
using System.Text.RegularExpressions;

namespace MedDistill.Data.Preprocessing;

/// <summary>
/// GKD's liver domains in one folder, each in its own archive's layout (the liver phantom writes the same):
/// <list type="bullet">
/// <item><c>CHAOS/Train_Sets/CT/&lt;patient&gt;/DICOM_anon/*.dcm</c>, one DICOM file per slice, with
/// <c>Ground/*.png</c>, one 0/255 liver mask per slice → site <see cref="Chaos"/>, case <c>CHAOS/&lt;patient&gt;</c>.
/// Slices are ordered by file name, by the first number in it (<c>i0000,0000b.dcm</c>, <c>liver_GT_000.png</c>), and
/// mask k labels DICOM file k: that is how CHAOS pairs them (the masks carry no position, only their index), so the
/// DICOM positions are not used for the order. Each patient must have as many masks as slices.</item>
/// <item><c>LiTS/volume-N.nii(.gz)</c> with <c>segmentation-N.nii(.gz)</c> (found anywhere below <c>LiTS/</c>, as the
/// archive's "Training Batch" folders hold them) → site <see cref="Lits"/>, case <c>LiTS/volume-N</c>.</item>
/// </list>
/// Lists, GKD's source/target protocol with CHAOS as source: <b>train</b> = the first 80 % of the CHAOS patients in
/// numeric order (rounded as <see cref="FlareLayout.DefaultLists"/> rounds: 16 of CHAOS's 20); <b>test</b> = the other
/// CHAOS patients and every LiTS volume.
/// </summary>
public static partial class LiverLayout
{
    public const string Chaos = "CHAOS", Lits = "LiTS";

    [GeneratedRegex(@"\d+", RegexOptions.CultureInvariant)]
    private static partial Regex Number();

    [GeneratedRegex(@"^volume-(?<n>\d+)\.nii(\.gz)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex LitsImage();

    [GeneratedRegex(@"^segmentation-(?<n>\d+)\.nii(\.gz)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex LitsLabel();

    public static bool Matches(string dir) => Directory.Exists(Path.Combine(dir, Chaos)) || Directory.Exists(Path.Combine(dir, Lits));

    public static DatasetSource Discover(string root, string? name = null)
    {
        var full = Path.GetFullPath(root);
        if (!Matches(full)) throw new DirectoryNotFoundException($"{full}: neither {Chaos}/ nor {Lits}/ is there");
        var cases = new List<SourceCase>();
        if (Directory.Exists(Path.Combine(full, Chaos))) cases.AddRange(ChaosCases(Path.Combine(full, Chaos, "Train_Sets", "CT")));
        var chaosIds = cases.Select(c => c.Id).ToList();
        if (Directory.Exists(Path.Combine(full, Lits))) cases.AddRange(LitsCases(Path.Combine(full, Lits)));
        if (cases.Count == 0) throw new InvalidDataException($"{full}: no CHAOS patients or LiTS volumes found");
        var chaosSplit = FlareLayout.DefaultLists(chaosIds);
        var lists = new Dictionary<string, IReadOnlyList<string>>
        {
            ["train"] = chaosSplit["train"],
            ["test"] = chaosSplit["test"].Concat(cases.Where(c => c.Site == Lits).Select(c => c.Id)).ToList(),
        };
        return new DatasetSource(name ?? Path.GetFileName(full), full, cases) { Lists = lists };
    }

    private static IEnumerable<SourceCase> ChaosCases(string ctDir)
    {
        if (!Directory.Exists(ctDir)) throw new DirectoryNotFoundException($"{ctDir}: CHAOS's CT folder (CHAOS/Train_Sets/CT/<patient>/...) is missing");
        var patients = new List<(int Number, string Dir)>();
        foreach (var dir in Directory.GetDirectories(ctDir))
        {
            var folder = Path.GetFileName(dir);
            if (folder.StartsWith('.')) continue;
            if (!int.TryParse(folder, NumberStyles.None, CultureInfo.InvariantCulture, out int number))
                throw new InvalidDataException($"{dir}: a CHAOS patient folder is named by the patient's number");
            patients.Add((number, dir));
        }
        var duplicate = patients.GroupBy(p => p.Number).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new InvalidDataException($"{duplicate.Last().Dir}: patient {duplicate.Key} also in {duplicate.First().Dir}");
        foreach (var (number, dir) in patients.OrderBy(p => p.Number))
        {
            var slices = ByNumber(dir, "DICOM_anon", "*.dcm");
            var masks = ByNumber(dir, "Ground", "*.png");
            if (slices.Length != masks.Length)
                throw new InvalidDataException($"{dir}: {slices.Length} DICOM_anon/*.dcm slices but {masks.Length} Ground/*.png masks; CHAOS has one mask per slice");
            var id = number.ToString(CultureInfo.InvariantCulture);
            yield return new SourceCase($"{Chaos}/{id}", Chaos, id, slices[0], masks[0]) { SliceFiles = slices, LabelSliceFiles = masks };
        }
    }

    /// <summary>The files of <paramref name="sub"/>, ordered by the first number in their names (then by name).</summary>
    private static string[] ByNumber(string patientDir, string sub, string pattern)
    {
        var dir = Path.Combine(patientDir, sub);
        var files = Directory.Exists(dir) ? Directory.GetFiles(dir, pattern) : [];
        if (files.Length == 0) throw new InvalidDataException($"{dir}: no {pattern} files (each CHAOS patient has DICOM_anon/*.dcm and Ground/*.png)");
        foreach (var f in files)
            if (!Number().IsMatch(Path.GetFileName(f))) throw new InvalidDataException($"{f}: no slice number in the file name");
        var ordered = files.OrderBy(f => long.Parse(Number().Match(Path.GetFileName(f)).Value, CultureInfo.InvariantCulture))
            .ThenBy(f => f, StringComparer.Ordinal).ToArray();
        for (int k = 1; k < ordered.Length; k++)
            if (SliceNumber(ordered[k]) == SliceNumber(ordered[k - 1]))
                throw new InvalidDataException($"{ordered[k]}: slice number {SliceNumber(ordered[k])} also in {Path.GetFileName(ordered[k - 1])}");
        return ordered;
    }

    private static long SliceNumber(string file) => long.Parse(Number().Match(Path.GetFileName(file)).Value, CultureInfo.InvariantCulture);

    private static IEnumerable<SourceCase> LitsCases(string litsDir)
    {
        var images = new Dictionary<int, string>();
        var labels = new Dictionary<int, string>();
        foreach (var file in Directory.GetFiles(litsDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var fileName = Path.GetFileName(file);
            Match m;
            if ((m = LitsImage().Match(fileName)).Success) Add(images, int.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture), file);
            else if ((m = LitsLabel().Match(fileName)).Success) Add(labels, int.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture), file);
        }
        foreach (var (n, label) in labels)
            if (!images.ContainsKey(n)) throw new InvalidDataException($"{label}: label without an image volume-{n}.nii(.gz)");
        foreach (var (n, image) in images.OrderBy(p => p.Key))
        {
            if (!labels.TryGetValue(n, out var label)) throw new InvalidDataException($"{image}: no label segmentation-{n}.nii(.gz) for it");
            var caseName = $"volume-{n}";
            yield return new SourceCase($"{Lits}/{caseName}", Lits, caseName, image, label);
        }
    }

    private static void Add(Dictionary<int, string> map, int n, string file)
    {
        if (!map.TryAdd(n, file)) throw new InvalidDataException($"{file}: case {n} also has {map[n]}; keep one of them");
    }
}
