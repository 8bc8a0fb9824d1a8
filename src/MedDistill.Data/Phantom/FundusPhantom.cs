using System.Globalization;
using MedDistill.Data.Randomness;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Phantom;

/// <summary>Image counts, size and seed of the retinal fundus phantom.</summary>
public sealed record FundusPhantomOptions
{
    public ulong Seed { get; init; } = 20250611;

    /// <summary>
    /// Fraction of every domain's real image size (CHASE_DB1 999×960, STARE 700×605, DRIVE 565×584); 1 is full size,
    /// 0.125 the harness's small runs. Sides never drop below 32 pixels.
    /// </summary>
    public double Scale { get; init; } = 1.0;

    /// <summary>CHASE_DB1 images (28: subjects 01–14, left and right eye each).</summary>
    public int ChaseImages { get; init; } = 28;

    /// <summary>STARE images with vessel labels (20; named after STARE's labelled image numbers).</summary>
    public int StareImages { get; init; } = 20;

    /// <summary>DRIVE training images (20, numbered 21–40) and test images (20, numbered 01–20).</summary>
    public int DriveTraining { get; init; } = 20;

    public int DriveTest { get; init; } = 20;

    public void Validate()
    {
        if (!(Scale is >= 0.02 and <= 2)) throw new ArgumentException($"fundus phantom: Scale {Scale} must be in 0.02..2");
        if (ChaseImages is < 1 or > 28) throw new ArgumentException($"fundus phantom: ChaseImages {ChaseImages} must be 1..28 (CHASE_DB1 has 28)");
        if (StareImages is < 1 or > 20) throw new ArgumentException($"fundus phantom: StareImages {StareImages} must be 1..20 (STARE has 20 labelled)");
        if (DriveTraining is < 1 or > 20 || DriveTest is < 1 or > 20) throw new ArgumentException("fundus phantom: DRIVE has 1..20 training and 1..20 test images");
    }
}

/// <summary>
/// The built-in retinal phantom <c>phantom-fundus</c> for GKD's vessel experiments: three domains in each real data set's
/// own layout, names and formats —
/// <c>CHASE_DB1/Image_01L.jpg</c> + <c>Image_01L_1stHO.png</c>;
/// <c>STARE/stare-images/im0001.ppm.gz</c> + <c>STARE/labels-ah/im0001.ah.ppm.gz</c>;
/// <c>DRIVE/{training,test}/images/21_training.tif</c>, <c>1st_manual/21_manual1.gif</c>, <c>mask/21_training_mask.gif</c>.
/// Labels are 0/255 greyscale (vessel 255), as in the real sets.
/// <para>
/// Every image is a vessel tree (<see cref="VesselTree"/>) over an orange-red fundus with optic disc, macula and choroidal
/// texture inside a circular field of view. The domains differ the way the real cameras do — CHASE_DB1 darker and
/// redder with uneven light and a strong central reflex, STARE brighter and blurrier, DRIVE smaller with multiplicative
/// rather than additive noise — so a model trained on one loses accuracy on the others, which is what GKD measures.
/// </para>
/// </summary>
public static class FundusPhantom
{
    public const string DatasetName = "phantom-fundus";
    public const string Version = "phantom-fundus/1";

    public const string Chase = "CHASE_DB1", Stare = "STARE", Drive = "DRIVE";

    /// <summary>STARE's 20 vessel-labelled images (Hoover's labels-ah set), in order.</summary>
    public static IReadOnlyList<int> StareNumbers { get; } = [1, 2, 3, 4, 5, 44, 77, 81, 82, 139, 162, 163, 235, 236, 239, 240, 255, 291, 319, 324];

    /// <summary>How a domain's camera renders the fundus.</summary>
    /// <param name="FovRadius">FOV radius as a fraction of the image height (above 0.5 the circle is cut at top and bottom).</param>
    /// <param name="Gradient">Strength of the uneven illumination across the field.</param>
    /// <param name="Blur">Gaussian blur sigma as a fraction of the FOV radius.</param>
    /// <param name="Speckle">Multiplicative noise instead of additive.</param>
    internal sealed record Look(string Domain, int Width, int Height, double FovRadius, (double R, double G, double B) Background,
        double Contrast, double Reflex, double Gradient, double Blur, double Noise, bool Speckle, double Disc);

    internal static readonly Look ChaseLook = new(Chase, 999, 960, 0.485, (150, 48, 20), 0.5, 0.45, 0.45, 0.0015, 5, false, 0.8);
    internal static readonly Look StareLook = new(Stare, 700, 605, 0.54, (215, 125, 72), 0.34, 0.08, 0.12, 0.008, 3, false, 1.0);
    internal static readonly Look DriveLook = new(Drive, 565, 584, 0.47 * 565 / 584, (180, 92, 46), 0.42, 0.15, 0.2, 0.002, 0.07, true, 0.9);

    public static BuiltinPhantomResult Generate(string root, FundusPhantomOptions? options = null)
    {
        options ??= new FundusPhantomOptions();
        options.Validate();
        return PhantomFolder.Build(root, DatasetName, Version, options, dir =>
        {
            var jobs = new List<(Look Look, int Index)>();
            for (int i = 0; i < options.ChaseImages; i++) jobs.Add((ChaseLook, i));
            for (int i = 0; i < options.StareImages; i++) jobs.Add((StareLook, i));
            for (int i = 0; i < options.DriveTraining + options.DriveTest; i++) jobs.Add((DriveLook, i));
            Parallel.ForEach(jobs, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, job => WriteOne(dir, options, job.Look, job.Index));
        });
    }

    private static void WriteOne(string dir, FundusPhantomOptions options, Look look, int index)
    {
        var image = Render(options, look, index);
        int w = image.Width, h = image.Height;
        var label = Array.ConvertAll(image.Label, v => (byte)(v * 255));
        switch (look.Domain)
        {
            case Chase:
            {
                var name = ChaseName(index);
                RasterImage.WriteFile(Path.Combine(dir, Chase, name + ".jpg"), RasterImage.EncodeJpeg(image.Rgb, w, h, 92));
                RasterImage.WriteFile(Path.Combine(dir, Chase, name + "_1stHO.png"), RasterImage.EncodeGreyPng(label, w, h));
                break;
            }
            case Stare:
            {
                var name = $"im{StareNumbers[index]:D4}";
                RasterImage.WriteFile(Path.Combine(dir, Stare, "stare-images", name + ".ppm.gz"), RetinaImage.Gzip(RetinaImage.EncodePnm(image.Rgb, w, h)));
                RasterImage.WriteFile(Path.Combine(dir, Stare, "labels-ah", name + ".ah.ppm.gz"), RetinaImage.Gzip(RetinaImage.EncodePnm(label, w, h, grey: true)));
                break;
            }
            default:
            {
                var (split, stem) = DriveName(options, index);
                var fov = Array.ConvertAll(image.Fov, v => (byte)(v * 255));
                var number = stem[..2];
                RasterImage.WriteFile(Path.Combine(dir, Drive, split, "images", stem + ".tif"), RetinaImage.EncodeTiff(image.Rgb, w, h));
                RasterImage.WriteFile(Path.Combine(dir, Drive, split, "1st_manual", number + "_manual1.gif"), RetinaImage.EncodeGif(label, w, h, grey: true));
                RasterImage.WriteFile(Path.Combine(dir, Drive, split, "mask", stem + "_mask.gif"), RetinaImage.EncodeGif(fov, w, h, grey: true));
                break;
            }
        }
    }

    /// <summary>CHASE_DB1's names: Image_01L, Image_01R, Image_02L, …</summary>
    public static string ChaseName(int index) => $"Image_{index / 2 + 1:D2}{(index % 2 == 0 ? 'L' : 'R')}";

    /// <summary>DRIVE's split and file stem of image <paramref name="index"/>: training 21_training … 40_training, then test 01_test ….</summary>
    public static (string Split, string Stem) DriveName(FundusPhantomOptions options, int index) =>
        index < options.DriveTraining
            ? ("training", (21 + index).ToString("D2", CultureInfo.InvariantCulture) + "_training")
            : ("test", (1 + index - options.DriveTraining).ToString("D2", CultureInfo.InvariantCulture) + "_test");

    /// <summary>Pixel size of a domain's images at <paramref name="scale"/>.</summary>
    internal static (int Width, int Height) SizeOf(Look look, double scale) =>
        (Math.Max(32, (int)Math.Round(look.Width * scale)), Math.Max(32, (int)Math.Round(look.Height * scale)));

    /// <summary>One rendered image: RGB bytes, the vessel label and the FOV (both 0/1 per pixel).</summary>
    internal sealed record Image(int Width, int Height, byte[] Rgb, byte[] Label, byte[] Fov);

    internal static Image Render(FundusPhantomOptions options, Look look, int index)
    {
        var (w, h) = SizeOf(look, options.Scale);
        ulong domainKey = look.Domain switch { Chase => 1UL, Stare => 2UL, _ => 3UL };
        var rng = Xoshiro256.Derive(options.Seed, domainKey, (ulong)index, 0);
        bool leftEye = look.Domain == Chase ? index % 2 == 0 : rng.Chance(0.5);
        var tree = new VesselTree(rng, leftEye);
        double cx = (w - 1) / 2.0 + rng.Uniform(-0.01, 0.01) * w, cy = (h - 1) / 2.0, fovR = look.FovRadius * h;
        var raster = tree.Rasterise(w, h, cx, cy, fovR);

        // Per-image variation within the domain: exposure, pigmentation and the direction of the light falloff.
        double exposure = rng.Uniform(0.9, 1.1), pigment = rng.Uniform(0.9, 1.1), lightAngle = rng.Uniform(0, 2 * Math.PI);
        var texture = Enumerable.Range(0, 5).Select(_ => (Kx: rng.Uniform(-12, 12), Ky: rng.Uniform(-12, 12), Phase: rng.Uniform(0, 2 * Math.PI))).ToArray();
        double discR = rng.Uniform(0.12, 0.15), maculaR = rng.Uniform(0.14, 0.18);
        var bg = new[] { look.Background.R * exposure, look.Background.G * exposure * pigment, look.Background.B * exposure * pigment };
        // Vessels absorb green most (why the green channel is what segmentation models see best), red least.
        double[] absorb = [0.45, 1.0, 0.8];

        var fov = new byte[w * h];
        var rgb = new double[3 * w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x;
                double u = (x - cx) / fovR, v = (y - cy) / fovR, rr = u * u + v * v;
                if (rr > 1) continue;
                fov[i] = 1;
                double light = (1 - 0.35 * rr) * (1 + look.Gradient * 0.5 * (u * Math.Cos(lightAngle) + v * Math.Sin(lightAngle)));
                double tex = 0;
                foreach (var (kx, ky, ph) in texture) tex += Math.Cos(kx * u + ky * v + ph);
                light *= 1 + 0.025 * tex;
                double du = u - tree.MaculaX, dv = v - tree.MaculaY;
                light *= 1 - 0.3 * Math.Exp(-(du * du + dv * dv) / (2 * maculaR * maculaR));
                du = u - tree.DiscX; dv = v - tree.DiscY;
                double disc = look.Disc / (1 + Math.Exp((Math.Sqrt(du * du + dv * dv) - discR) / 0.012));
                // Thin vessels are partial-volume blurred by the optics, so they darken less than the trunks.
                double thin = Math.Min(1, raster.Radius[i] / (0.006 * fovR + 0.5));
                double vessel = look.Contrast * raster.Profile[i] * (0.45 + 0.55 * thin);
                for (int k = 0; k < 3; k++)
                {
                    double baseline = bg[k] * light;
                    baseline += disc * ((k == 0 ? 250 : k == 1 ? 225 : 150) - baseline);
                    double value = baseline * (1 - absorb[k] * vessel) + look.Reflex * raster.Reflex[i] * 0.35 * baseline;
                    rgb[3 * i + k] = value;
                }
            }
        GaussianBlur(rgb, w, h, look.Blur * fovR);

        var noise = Xoshiro256.Derive(options.Seed, domainKey, (ulong)index, 1);
        var bytes = new byte[rgb.Length];
        for (int i = 0; i < w * h; i++)
            for (int k = 0; k < 3; k++)
            {
                double value = fov[i] == 0 ? 2 + 1.5 * Math.Abs(noise.NextGaussian()) // the camera's dark surround is not exactly 0
                    : look.Speckle ? rgb[3 * i + k] * (1 + look.Noise * noise.NextGaussian())
                    : rgb[3 * i + k] + look.Noise * noise.NextGaussian();
                bytes[3 * i + k] = (byte)Math.Clamp(Math.Round(value), 0, 255);
            }
        var label = new byte[w * h];
        for (int i = 0; i < label.Length; i++) label[i] = (byte)(raster.Label[i] & fov[i]);
        return new Image(w, h, bytes, label, fov);
    }

    /// <summary>Separable Gaussian blur of standard deviation <paramref name="sigma"/> pixels, clamped at the borders.</summary>
    /// <remarks>Sub-pixel sigmas still soften, so a domain stays blurrier than the others at every scale.</remarks>
    private static void GaussianBlur(double[] rgb, int w, int h, double sigma)
    {
        if (sigma < 0.05) return;
        int radius = Math.Max(1, (int)Math.Ceiling(3 * sigma));
        var kernel = Enumerable.Range(-radius, 2 * radius + 1).Select(d => Math.Exp(-d * d / (2 * sigma * sigma))).ToArray();
        double total = kernel.Sum();
        for (int i = 0; i < kernel.Length; i++) kernel[i] /= total;
        var tmp = new double[rgb.Length];
        Pass(rgb, tmp, w, h, kernel, horizontal: true);
        Pass(tmp, rgb, w, h, kernel, horizontal: false);
    }

    private static void Pass(double[] src, double[] dst, int w, int h, double[] kernel, bool horizontal)
    {
        int lines = horizontal ? h : w, length = horizontal ? w : h, radius = kernel.Length / 2;
        for (int line = 0; line < lines; line++)
            for (int p = 0; p < length; p++)
                for (int k = 0; k < 3; k++)
                {
                    double sum = 0;
                    for (int d = -radius; d <= radius; d++)
                    {
                        int q = Math.Clamp(p + d, 0, length - 1);
                        sum += kernel[d + radius] * src[3 * (horizontal ? line * w + q : q * w + line) + k];
                    }
                    dst[3 * (horizontal ? line * w + p : p * w + line) + k] = sum;
                }
    }
}
