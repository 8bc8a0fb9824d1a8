using System.Text;
using MedDistill.Data.Randomness;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Phantom;

/// <summary>How a CT scanner (and contrast phase) renders the abdomen: mean HU per tissue, per-case jitter, blur, noise.</summary>
/// <param name="Hu">Mean Hounsfield units by tissue code (organs 1–13, other tissues <see cref="AbdomenAnatomy"/>'s 20+).</param>
/// <param name="HuJitter">Standard deviation of a per-case, per-tissue offset (contrast timing differs between patients).</param>
/// <param name="TextureHu">Amplitude of the smooth texture inside soft tissues.</param>
/// <param name="BlurMm">In-plane Gaussian point-spread sigma (reconstruction kernel).</param>
/// <param name="NoiseHu">Standard deviation of the Gaussian image noise (dose, kernel).</param>
public sealed record AbdomenScanner(string Name, IReadOnlyDictionary<int, double> Hu, double HuJitter, double TextureHu, double BlurMm, double NoiseHu)
{
    /// <summary>Portal-venous contrast CT with a soft kernel, like most BTCV/Synapse scans: enhanced liver and spleen, bright kidneys.</summary>
    public static AbdomenScanner Synapse { get; } = new("synapse-portal-venous", Table(
        liver: 105, rightKidney: 165, spleen: 115, pancreas: 95, aorta: 170, ivc: 140, adrenal: 45, gallbladder: 12,
        esophagus: 45, stomach: 70, duodenum: 55, fat: -100, visceralFat: -90, muscle: 50), 8, 10, 1.0, 12);

    /// <summary>
    /// A different scanner and phase for the FLARE22-like set: late-arterial timing (bright aorta, darker liver and IVC,
    /// brighter pancreas), a sharper kernel and about twice the noise, so the two phantoms differ as sites do.
    /// </summary>
    public static AbdomenScanner Flare { get; } = new("flare-late-arterial", Table(
        liver: 75, rightKidney: 215, spleen: 135, pancreas: 120, aorta: 280, ivc: 85, adrenal: 60, gallbladder: 6,
        esophagus: 40, stomach: 85, duodenum: 70, fat: -110, visceralFat: -95, muscle: 45), 12, 14, 0.5, 24);

    private static Dictionary<int, double> Table(double liver, double rightKidney, double spleen, double pancreas, double aorta,
        double ivc, double adrenal, double gallbladder, double esophagus, double stomach, double duodenum, double fat, double visceralFat, double muscle) => new()
    {
        [(int)AbdominalOrgan.Liver] = liver, [(int)AbdominalOrgan.RightKidney] = rightKidney, [(int)AbdominalOrgan.LeftKidney] = rightKidney,
        [(int)AbdominalOrgan.Spleen] = spleen, [(int)AbdominalOrgan.Pancreas] = pancreas, [(int)AbdominalOrgan.Aorta] = aorta,
        [(int)AbdominalOrgan.Ivc] = ivc, [(int)AbdominalOrgan.RightAdrenal] = adrenal, [(int)AbdominalOrgan.LeftAdrenal] = adrenal,
        [(int)AbdominalOrgan.Gallbladder] = gallbladder, [(int)AbdominalOrgan.Esophagus] = esophagus, [(int)AbdominalOrgan.Stomach] = stomach,
        [(int)AbdominalOrgan.Duodenum] = duodenum,
        [AbdomenAnatomy.Air] = -1000, [AbdomenAnatomy.Fat] = fat, [AbdomenAnatomy.VisceralFat] = visceralFat, [AbdomenAnatomy.Muscle] = muscle,
        [AbdomenAnatomy.Cortex] = 750, [AbdomenAnatomy.Marrow] = 220, [AbdomenAnatomy.Csf] = 10, [AbdomenAnatomy.Bowel] = 35,
        [AbdomenAnatomy.Gas] = -900, [AbdomenAnatomy.StomachFluid] = 15,
    };
}

/// <summary>Grid and seed of the abdominal CT phantoms; the field of view is a fixed 380 mm × 380 mm × 200 mm.</summary>
public sealed record AbdomenPhantomOptions
{
    public ulong Seed { get; init; } = 20250513;

    /// <summary>In-plane matrix (square). Pixel size = 380 mm / Size.</summary>
    public int Size { get; init; } = 64;

    /// <summary>Slices per volume. Slice spacing = 200 mm / Slices.</summary>
    public int Slices { get; init; } = 24;

    /// <summary>FLARE cases (FLARE22_Tr_0001…); the first 80 % are the training split. Null = FLARE22's 50. Unused by Synapse, whose 30 ids are TransUNet's.</summary>
    public int? Cases { get; init; }

    public void Validate()
    {
        if (Size is < 16 or > 512) throw new ArgumentException($"abdomen phantom: Size {Size} must be in 16..512");
        if (Slices is < 4 or > 256) throw new ArgumentException($"abdomen phantom: Slices {Slices} must be in 4..256");
        if (Cases is not null and (< 2 or > 200)) throw new ArgumentException($"abdomen phantom: Cases {Cases} must be in 2..200");
    }

    internal const double FieldOfViewMm = 380, ExtentZMm = 200;
    internal double PixelMm => FieldOfViewMm / Size;
    internal double SliceMm => ExtentZMm / Slices;
}

/// <summary>
/// The built-in abdominal CT phantoms for ACW-SKD's two CT data sets, written in the real sets' layouts and read back by
/// the same readers:
/// <list type="bullet">
/// <item><c>phantom-abdomen</c> — TransUNet's preprocessed Synapse: <c>train_npz/caseXXXX_sliceYYY.npz</c> (<c>image</c>,
/// <c>label</c>: float32 H×W) for the 18 training cases and <c>test_vol_h5/caseXXXX.npy.h5</c> (<c>image</c>, <c>label</c>:
/// float32 D×H×W) for the 12 test cases, case ids from TransUNet's <c>lists/lists_Synapse</c>; images clipped to
/// [−125, 275] HU and scaled to [0, 1]; labels 1 aorta, 2 gallbladder, 3 left kidney, 4 right kidney, 5 liver,
/// 6 pancreas, 7 spleen, 8 stomach. <c>lists_Synapse/train.txt</c> and <c>test_vol.txt</c> name them as TransUNet's lists do.</item>
/// <item><c>phantom-flare</c> — FLARE22's <c>imagesTr/FLARE22_Tr_XXXX_0000.nii.gz</c> (int16 HU) and
/// <c>labelsTr/FLARE22_Tr_XXXX.nii.gz</c> (uint8, 13 organs in FLARE's order), another scanner's contrast and noise;
/// <c>train.txt</c>/<c>test.txt</c> give the 40/10 split (first 40 / last 10 cases: the real split's ids are not public).</item>
/// </list>
/// Everything is a function of the seed, the options and the case id, so the same options give the same bytes.
/// </summary>
public static class AbdomenPhantom
{
    public const string SynapseName = "phantom-abdomen";
    public const string FlareName = "phantom-flare";
    public const string Version = "phantom-abdomen/1";

    /// <summary>TransUNet's Synapse training cases (lists/lists_Synapse/train.txt).</summary>
    public static IReadOnlyList<int> SynapseTrainCases { get; } = [5, 6, 7, 9, 10, 21, 23, 24, 26, 27, 28, 30, 31, 33, 34, 37, 39, 40];

    /// <summary>TransUNet's Synapse test cases in the order of its lists/lists_Synapse/test_vol.txt.</summary>
    public static IReadOnlyList<int> SynapseTestCases { get; } = [8, 22, 38, 36, 32, 2, 29, 3, 1, 4, 25, 35];

    public const double HuMin = -125, HuMax = 275;

    // Separate streams per data set: the Synapse and FLARE phantoms are different patients.
    private const ulong SynapseKey = 0x53594E41505345UL, FlareKey = 0x464C4152453232UL;
    private const int ThroughPlaneSamples = 3;

    public static BuiltinPhantomResult GenerateSynapse(string root, AbdomenPhantomOptions? options = null)
    {
        options ??= new AbdomenPhantomOptions();
        options.Validate();
        return PhantomFolder.Build(root, SynapseName, Version + "/synapse", options with { Cases = null }, dir =>
        {
            var cases = SynapseTrainCases.Select(c => (Id: c, Train: true)).Concat(SynapseTestCases.Select(c => (Id: c, Train: false))).ToArray();
            var slices = new string[cases.Length][];
            Parallel.For(0, cases.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
            {
                var (id, train) = cases[i];
                var (hu, label) = RenderCase(options, AbdomenScanner.Synapse, SynapseKey, id, synapseLabels: true);
                var image = Normalise(hu);
                var name = $"case{id:D4}";
                if (train)
                {
                    slices[i] = new string[options.Slices];
                    for (int s = 0; s < options.Slices; s++)
                    {
                        slices[i][s] = $"{name}_slice{s:D3}";
                        NpyWriter.WriteNpz(Path.Combine(dir, "train_npz", slices[i][s] + ".npz"),
                        [
                            ("image", SliceOf(image, s), VoxelType.Float32),
                            ("label", SliceOf(label, s), VoxelType.Float32),
                        ]);
                    }
                }
                else
                {
                    slices[i] = [];
                    Hdf5Writer.Write(Path.Combine(dir, "test_vol_h5", name + ".npy.h5"), [("image", image, VoxelType.Float32), ("label", label, VoxelType.Float32)]);
                }
            });
            WriteLines(Path.Combine(dir, "lists_Synapse", "train.txt"), slices.SelectMany(s => s));
            WriteLines(Path.Combine(dir, "lists_Synapse", "test_vol.txt"), SynapseTestCases.Select(c => $"case{c:D4}"));
        });
    }

    public static BuiltinPhantomResult GenerateFlare(string root, AbdomenPhantomOptions? options = null)
    {
        options ??= new AbdomenPhantomOptions();
        options.Validate();
        int count = options.Cases ?? 50, train = TrainCount(count);
        return PhantomFolder.Build(root, FlareName, Version + "/flare", options with { Cases = count }, dir =>
        {
            Parallel.For(1, count + 1, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, id =>
            {
                var (hu, label) = RenderCase(options, AbdomenScanner.Flare, FlareKey, id, synapseLabels: false);
                var name = FlareCase(id);
                Nifti.Write(Path.Combine(dir, "imagesTr", name + "_0000.nii.gz"), hu, VoxelType.Int16, "MedDistill FLARE22-like phantom CT (HU)");
                Nifti.Write(Path.Combine(dir, "labelsTr", name + ".nii.gz"), label, VoxelType.UInt8, "MedDistill FLARE22-like phantom labels 1-13");
            });
            WriteLines(Path.Combine(dir, "train.txt"), Enumerable.Range(1, train).Select(FlareCase));
            WriteLines(Path.Combine(dir, "test.txt"), Enumerable.Range(train + 1, count - train).Select(FlareCase));
        });
    }

    /// <summary>Training cases of a FLARE phantom of <paramref name="cases"/> cases: 40 of 50, the same 80 % otherwise.</summary>
    public static int TrainCount(int cases) => Math.Clamp((int)Math.Round(cases * 0.8), 1, cases - 1);

    public static string FlareCase(int id) => $"FLARE22_Tr_{id:D4}";

    /// <summary>
    /// One case in memory: the CT in HU, shape (D, H, W) with slice 0 superior, and its label map (FLARE numbering, or
    /// Synapse's when <paramref name="synapseLabels"/>). The NIfTI affine maps to RAS+ millimetres.
    /// </summary>
    internal static (Volume Hu, Volume Label) RenderCase(AbdomenPhantomOptions options, AbdomenScanner scanner, ulong datasetKey, int caseId, bool synapseLabels)
    {
        int n = options.Size, d = options.Slices;
        double dxy = options.PixelMm, dz = options.SliceMm;
        var anatomy = new AbdomenAnatomy(Xoshiro256.Derive(options.Seed, datasetKey, (ulong)caseId, 0));
        var rng = Xoshiro256.Derive(options.Seed, datasetKey, (ulong)caseId, 1);
        // Per-case offset of every tissue's mean: contrast timing and patient differences.
        var hu = scanner.Hu.OrderBy(p => p.Key).ToDictionary(p => p.Key, p => p.Value + (p.Key is AbdomenAnatomy.Air or AbdomenAnatomy.Gas ? 0 : scanner.HuJitter * rng.NextGaussian()));
        int plane = n * n;
        var image = new float[d * plane];
        var label = new float[d * plane];
        double x0 = -(n - 1) / 2.0 * dxy, z0 = -(d - 1) / 2.0 * dz;
        Parallel.For(0, d, z =>
        {
            double zc = z0 + z * dz;
            for (int y = 0; y < n; y++)
                for (int x = 0; x < n; x++)
                {
                    double xc = x0 + x * dxy, yc = x0 + y * dxy, sum = 0;
                    int organ = 0;
                    // Thick slices: average sub-slices so organ edges partial-volume through the slice; the label is the centre's.
                    for (int s = 0; s < ThroughPlaneSamples; s++)
                    {
                        var (tissue, o) = anatomy.Sample(xc, yc, zc + ((s + 0.5) / ThroughPlaneSamples - 0.5) * dz);
                        if (s == ThroughPlaneSamples / 2) organ = o; // the middle sub-slice is the slice's centre
                        double v = hu[tissue];
                        if (v > -500 && v < 500) v += scanner.TextureHu * anatomy.Texture(xc, yc, zc);
                        sum += v;
                    }
                    int i = z * plane + y * n + x;
                    image[i] = (float)(sum / ThroughPlaneSamples);
                    label[i] = synapseLabels ? AbdomenAnatomy.SynapseLabel[organ] : organ;
                }
        });
        PhantomGenerator.BlurInPlane(image, d, n, scanner.BlurMm / dxy);
        for (int i = 0; i < image.Length; i++)
            image[i] = (float)Math.Clamp(Math.Round(image[i] + scanner.NoiseHu * rng.NextGaussian()), -1024, 3071);

        var spacing = new[] { dz, dxy, dxy };
        // Columns run to the patient's left, rows to posterior, slices to inferior: RAS+ flips all three.
        var affine = new double[4, 4];
        affine[0, 0] = -dxy; affine[1, 1] = -dxy; affine[2, 2] = -dz; affine[3, 3] = 1;
        affine[0, 3] = -x0; affine[1, 3] = -x0; affine[2, 3] = -z0;
        var shape = new[] { d, n, n };
        return (new Volume(image, shape, spacing, VoxelType.Int16, affine), new Volume(label, shape, spacing, VoxelType.UInt8, affine));
    }

    /// <summary>TransUNet's preprocessing: clip to [−125, 275] HU, then scale to [0, 1].</summary>
    internal static Volume Normalise(Volume hu)
    {
        var data = new float[hu.Data.Length];
        for (int i = 0; i < data.Length; i++) data[i] = (float)((Math.Clamp(hu.Data[i], HuMin, HuMax) - HuMin) / (HuMax - HuMin));
        return new Volume(data, hu.Shape, hu.Spacing, VoxelType.Float32, hu.Affine);
    }

    private static Volume SliceOf(Volume v, int s) => new(v.Slice(s).ToArray(), [v.Shape[1], v.Shape[2]], [v.Spacing[1], v.Spacing[2]], v.StoredType);

    private static void WriteLines(string path, IEnumerable<string> lines)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, string.Concat(lines.Select(l => l + "\n")), new UTF8Encoding(false));
    }

}
