namespace MedDistill.Data.Manifest;

/// <summary>A dataset generated on this machine rather than downloaded.</summary>
/// <param name="Name">Dataset name, as used on the command line.</param>
/// <param name="Folder">Folder under the data directory where the generator writes it.</param>
/// <param name="HowToCreate">The command that creates it, shown by <c>data status</c> while it is missing.</param>
public sealed record BuiltinDataset(string Name, string Folder, string Description, string HowToCreate);

/// <summary>
/// Built-in datasets. They are kept out of <c>data-manifest.csv</c> on purpose: the manifest lists files to download, with URL,
/// checksum and access policy, none of which a generated dataset has. <c>data status</c> lists them in their own section.
/// </summary>
public static class BuiltinDatasets
{
    public static readonly BuiltinDataset PhantomProstate = new(
        "phantom-prostate", "phantom-prostate",
        "synthetic prostate-like MRI volumes with known masks (tests, smoke runs, no download)",
        "meddistill data phantom");

    public static readonly BuiltinDataset PhantomAbdomen = new(
        "phantom-abdomen", "phantom-abdomen",
        "synthetic abdominal CT in TransUNet's Synapse layout, 8 organs (ACW-SKD smoke runs, no download)",
        "meddistill data phantom abdomen");

    public static readonly BuiltinDataset PhantomFlare = new(
        "phantom-flare", "phantom-flare",
        "synthetic abdominal CT in FLARE22's NIfTI layout, 13 organs (ACW-SKD smoke runs, no download)",
        "meddistill data phantom flare");

    public static readonly BuiltinDataset PhantomLaparoscopy = new(
        "phantom-laparoscopy", "phantom-laparoscopy",
        "synthetic laparoscopy frames with colour masks in M2caiSeg's layout, 19 classes (ACW-SKD smoke runs, no download)",
        "meddistill data phantom laparoscopy");

    public static readonly BuiltinDataset PhantomFundus = new(
        "phantom-fundus", "phantom-fundus",
        "synthetic retinal fundus images with vessel labels in CHASE_DB1, STARE and DRIVE layouts (GKD domain shift, no download)",
        "meddistill data phantom fundus");

    public static readonly BuiltinDataset PhantomLiver = new(
        "phantom-liver", "phantom-liver",
        "synthetic liver CT: CHAOS-like DICOM slices + PNG masks (source) and LiTS-like NIfTI with tumours (target) (GKD, no download)",
        "meddistill data phantom liver");

    private static readonly List<BuiltinDataset> Registered = [PhantomProstate, PhantomAbdomen, PhantomFlare, PhantomLaparoscopy, PhantomFundus, PhantomLiver];

    public static IReadOnlyList<BuiltinDataset> All => Registered;

    /// <summary>Lets a generator added later (another command) register itself; names must stay unique.</summary>
    public static void Register(BuiltinDataset dataset)
    {
        if (Registered.Any(d => d.Name == dataset.Name)) return;
        Registered.Add(dataset);
    }

    /// <summary>Present when its folder exists and holds at least one file.</summary>
    public static bool IsPresent(BuiltinDataset dataset, string dataDir)
    {
        var folder = Path.Combine(dataDir, dataset.Folder);
        return Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Any();
    }
}
