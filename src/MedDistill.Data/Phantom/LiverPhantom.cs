using System.Globalization;
using MedDistill.Data.Randomness;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Phantom;

/// <summary>Grid, case counts and seed of the liver phantom (field of view 380 mm × 380 mm × 200 mm, as the abdomen phantom's).</summary>
public sealed record LiverPhantomOptions
{
    public ulong Seed { get; init; } = 20250612;

    /// <summary>In-plane matrix (square; CHAOS's and LiTS's real slices are 512 × 512).</summary>
    public int Size { get; init; } = 64;

    public int Slices { get; init; } = 24;

    /// <summary>CHAOS CT training patients (20, with CHAOS's patient numbers).</summary>
    public int ChaosCases { get; init; } = 20;

    /// <summary>LiTS volumes (volume-0 …; the real training set has 131).</summary>
    public int LitsCases { get; init; } = 20;

    public void Validate()
    {
        new AbdomenPhantomOptions { Size = Size, Slices = Slices }.Validate();
        if (ChaosCases is < 1 or > 20) throw new ArgumentException($"liver phantom: ChaosCases {ChaosCases} must be 1..20 (CHAOS has 20 CT training patients)");
        if (LitsCases is < 1 or > 131) throw new ArgumentException($"liver phantom: LitsCases {LitsCases} must be 1..131 (LiTS has 131 training volumes)");
    }
}

/// <summary>
/// The built-in liver phantom <c>phantom-liver</c> for GKD's liver experiments: a CHAOS-like CT source and a LiTS-like
/// target, each in its real layout —
/// <c>CHAOS/Train_Sets/CT/{patient}/DICOM_anon/i0000,0000b.dcm</c> (one DICOM file per slice, slice k = instance k + 1,
/// superior first) with <c>Ground/liver_GT_000.png</c> (0/255 liver masks, file k for slice k); and
/// <c>LiTS/volume-N.nii</c> (int16 HU) with <c>LiTS/segmentation-N.nii</c> (0 background, 1 liver, 2 tumour).
/// <para>
/// Both are the abdomen phantom's anatomy (<see cref="AbdomenAnatomy"/>) with liver tumours added: hypodense spheres
/// inside the liver, few in CHAOS (healthy donors mostly) and 1–3 in LiTS. CHAOS labels the tumour as liver, as CHAOS
/// does. The two scanners differ (contrast phase, noise, kernel), so a liver model trained on one loses accuracy on the other.
/// </para>
/// </summary>
public static class LiverPhantom
{
    public const string DatasetName = "phantom-liver";
    public const string Version = "phantom-liver/1";

    /// <summary>CHAOS's 20 CT training patient numbers.</summary>
    public static IReadOnlyList<int> ChaosPatients { get; } = [1, 2, 5, 6, 8, 10, 14, 16, 18, 19, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30];

    internal static readonly AbdomenScanner ChaosScanner = AbdomenScanner.Synapse with { Name = "chaos-portal-venous", NoiseHu = 10, BlurMm = 1.2 };

    internal static readonly AbdomenScanner LitsScanner = AbdomenScanner.Flare with
    {
        Name = "lits-mixed-scanners", NoiseHu = 28, BlurMm = 0.4, HuJitter = 18,
        Hu = new Dictionary<int, double>(AbdomenScanner.Flare.Hu) { [(int)AbdominalOrgan.Liver] = 90, [(int)AbdominalOrgan.Spleen] = 100 },
    };

    private const ulong ChaosKey = 11, LitsKey = 12;

    public static BuiltinPhantomResult Generate(string root, LiverPhantomOptions? options = null)
    {
        options ??= new LiverPhantomOptions();
        options.Validate();
        return PhantomFolder.Build(root, DatasetName, Version, options, dir =>
        {
            var jobs = Enumerable.Range(0, options.ChaosCases).Select(i => (Chaos: true, Index: i))
                .Concat(Enumerable.Range(0, options.LitsCases).Select(i => (Chaos: false, Index: i)));
            Parallel.ForEach(jobs, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, job =>
            {
                if (job.Chaos) WriteChaos(dir, options, ChaosPatients[job.Index]);
                else WriteLits(dir, options, job.Index);
            });
        });
    }

    /// <summary>The folder of a CHAOS patient: <c>CHAOS/Train_Sets/CT/{patient}</c>.</summary>
    public static string ChaosFolder(int patient) => Path.Combine("CHAOS", "Train_Sets", "CT", patient.ToString(CultureInfo.InvariantCulture));

    /// <summary>CHAOS's DICOM file name of slice <paramref name="k"/>.</summary>
    public static string ChaosSliceName(int k) => $"i{k:D4},0000b.dcm";

    public static string ChaosMaskName(int k) => $"liver_GT_{k:D3}.png";

    private static void WriteChaos(string dir, LiverPhantomOptions options, int patient)
    {
        var (hu, label) = Render(options, ChaosScanner, ChaosKey, patient, tumours: (0, 1));
        var folder = Path.Combine(dir, ChaosFolder(patient));
        int d = hu.Shape[0], n = hu.Shape[1], plane = n * n;
        double dz = hu.Spacing[0], dxy = hu.Spacing[1];
        for (int k = 0; k < d; k++)
        {
            // RAS affine → DICOM's LPS position of the slice's first pixel.
            double[] position = [-hu.Affine[0, 3], -hu.Affine[1, 3], hu.Affine[2, 3] + hu.Affine[2, 2] * k];
            var slice = new Dicom.CtSlice($"CHAOS-{patient:D2}", $"phantom-liver/{options.Seed}/chaos/{patient}", k + 1, [dxy, dxy], dz, position);
            RasterImage.WriteFile(Path.Combine(folder, "DICOM_anon", ChaosSliceName(k)), Dicom.WriteCtSlice(hu.Data.AsSpan(k * plane, plane), n, n, slice));
            var mask = new byte[plane];
            for (int i = 0; i < plane; i++) mask[i] = label.Data[k * plane + i] > 0 ? (byte)255 : (byte)0;
            RasterImage.WriteFile(Path.Combine(folder, "Ground", ChaosMaskName(k)), RasterImage.EncodeGreyPng(mask, n, n));
        }
    }

    private static void WriteLits(string dir, LiverPhantomOptions options, int index)
    {
        var (hu, label) = Render(options, LitsScanner, LitsKey, index, tumours: (1, 3));
        Nifti.Write(Path.Combine(dir, "LiTS", $"volume-{index}.nii"), hu, VoxelType.Int16, "MedDistill LiTS-like phantom CT (HU)");
        Nifti.Write(Path.Combine(dir, "LiTS", $"segmentation-{index}.nii"), label, VoxelType.UInt8, "MedDistill LiTS-like phantom 1 liver 2 tumour");
    }

    /// <summary>CT in HU and the label map (0, 1 liver, 2 tumour), shape (D, H, W), slice 0 superior.</summary>
    internal static (Volume Hu, Volume Label) Render(LiverPhantomOptions options, AbdomenScanner scanner, ulong key, int caseId, (int Min, int Max) tumours)
    {
        var grid = new AbdomenPhantomOptions { Seed = options.Seed, Size = options.Size, Slices = options.Slices };
        var (hu, organs) = AbdomenPhantom.RenderCase(grid, scanner, key, caseId, synapseLabels: false);
        var label = new float[organs.Data.Length];
        for (int i = 0; i < label.Length; i++) label[i] = organs.Data[i] == (int)AbdominalOrgan.Liver ? 1 : 0;
        var liverVoxels = Enumerable.Range(0, label.Length).Where(i => label[i] == 1).ToArray();
        var rng = Xoshiro256.Derive(options.Seed, key, (ulong)caseId, 7);
        int count = liverVoxels.Length == 0 ? 0 : rng.NextInt(tumours.Min, tumours.Max);
        int d = hu.Shape[0], n = hu.Shape[1];
        double dz = hu.Spacing[0], dxy = hu.Spacing[1];
        for (int t = 0; t < count; t++)
        {
            // A tumour centred on a random liver voxel, 8–22 mm in radius, 35–70 HU darker than the parenchyma.
            int c = liverVoxels[rng.NextInt(liverVoxels.Length)];
            int cz = c / (n * n), cy = c / n % n, cx = c % n;
            double radius = rng.Uniform(8, 22), drop = rng.Uniform(35, 70);
            for (int z = Math.Max(0, cz - (int)(radius / dz) - 1); z <= Math.Min(d - 1, cz + (int)(radius / dz) + 1); z++)
                for (int y = Math.Max(0, cy - (int)(radius / dxy) - 1); y <= Math.Min(n - 1, cy + (int)(radius / dxy) + 1); y++)
                    for (int x = Math.Max(0, cx - (int)(radius / dxy) - 1); x <= Math.Min(n - 1, cx + (int)(radius / dxy) + 1); x++)
                    {
                        int i = (z * n + y) * n + x;
                        if (label[i] == 0) continue; // a tumour is only where liver was
                        double r = Math.Sqrt(Math.Pow((z - cz) * dz, 2) + Math.Pow((y - cy) * dxy, 2) + Math.Pow((x - cx) * dxy, 2)) / radius;
                        if (r >= 1) continue;
                        label[i] = 2;
                        hu.Data[i] = (float)Math.Round(hu.Data[i] - drop * (r < 0.8 ? 1 : (1 - r) / 0.2));
                    }
        }
        return (hu, new Volume(label, hu.Shape, hu.Spacing, VoxelType.UInt8, hu.Affine));
    }
}
