using MedDistill.Data.Randomness;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Phantom;

/// <summary>Frame size, counts and seed of the laparoscopy phantom.</summary>
public sealed record LaparoscopyPhantomOptions
{
    public ulong Seed { get; init; } = 20250514;

    /// <summary>Frame width in pixels (M2caiSeg's frames are 774 × 434; the default keeps that aspect at a small size).</summary>
    public int Width { get; init; } = 192;

    public int Height { get; init; } = 108;

    /// <summary>Frames per split folder. M2caiSeg has 307 frames in all; its per-split counts are not known here.</summary>
    public int TrainFrames { get; init; } = 24;

    public int TestFrames { get; init; } = 8;

    public int TrainValFrames { get; init; } = 4;

    /// <summary>JPEG quality of the frames (masks are lossless PNG).</summary>
    public int JpegQuality { get; init; } = 90;

    public void Validate()
    {
        if (Width is < 16 or > 2048 || Height is < 16 or > 2048) throw new ArgumentException($"laparoscopy phantom: frame {Width}×{Height} must be 16..2048 on each side");
        if (TrainFrames is < 1 or > 5000 || TestFrames is < 1 or > 5000 || TrainValFrames is < 0 or > 5000)
            throw new ArgumentException("laparoscopy phantom: train and test need 1..5000 frames, trainval 0..5000");
        if (JpegQuality is < 1 or > 100) throw new ArgumentException($"laparoscopy phantom: JpegQuality {JpegQuality} must be in 1..100");
    }
}

/// <summary>
/// The built-in laparoscopic phantom <c>phantom-laparoscopy</c>, for ACW-SKD's 2D set M2caiSeg, in M2caiSeg's layout:
/// <c>{train,test,trainval}/images/N.jpg</c> (RGB frames, JPEG) and <c>{train,test,trainval}/groundtruth/N_gt.png</c>
/// (RGB masks coloured with <see cref="ColourPalette.M2caiSeg"/>), written and read with SkiaSharp.
/// <para>
/// A frame is a cholecystectomy-like view: black outside the circular endoscope field, liver above, gallbladder against
/// it, fat everywhere else, sometimes the abdominal wall, intestine, an artery with clips, bile or blood, and one or two
/// instruments entering from the border (every instrument class in turn, so each split sees all of them). Colours follow
/// the tissue with a vignette, texture, speculars and noise, so the mask is not a colour threshold of the frame.
/// </para>
/// </summary>
public static class LaparoscopyPhantom
{
    public const string DatasetName = "phantom-laparoscopy";
    public const string Version = "phantom-laparoscopy/1";

    public static IReadOnlyList<string> Splits { get; } = ["train", "test", "trainval"];

    // Frame colours (R, G, B) of each M2caiSeg class, the tissue as a camera sees it under the scope's light.
    private static readonly (double R, double G, double B)[] Appearance =
    [
        (70, 55, 55), (150, 150, 155), (120, 125, 135), (165, 165, 170), (140, 140, 150), (130, 135, 140), (110, 115, 125),
        (90, 130, 175), (95, 95, 100), (215, 215, 220), (125, 45, 40), (140, 145, 75), (215, 185, 115), (195, 130, 120),
        (175, 45, 45), (205, 120, 110), (170, 165, 45), (105, 12, 18), (0, 0, 0),
    ];

    public static BuiltinPhantomResult Generate(string root, LaparoscopyPhantomOptions? options = null)
    {
        options ??= new LaparoscopyPhantomOptions();
        options.Validate();
        return PhantomFolder.Build(root, DatasetName, Version, options, dir =>
        {
            var jobs = new List<(string Split, int Frame)>();
            int[] counts = [options.TrainFrames, options.TestFrames, options.TrainValFrames];
            for (int s = 0; s < Splits.Count; s++)
                for (int f = 0; f < counts[s]; f++) jobs.Add((Splits[s], f));
            Parallel.ForEach(jobs, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, job =>
            {
                var (rgb, classes) = RenderFrame(options, job.Split, job.Frame);
                var name = (job.Frame + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
                RasterImage.WriteFile(Path.Combine(dir, job.Split, "images", name + ".jpg"), RasterImage.EncodeJpeg(rgb, options.Width, options.Height, options.JpegQuality));
                RasterImage.WriteFile(Path.Combine(dir, job.Split, "groundtruth", name + "_gt.png"),
                    RasterImage.EncodePng(ColourPalette.M2caiSeg.Colourise(classes), options.Width, options.Height));
            });
        });
    }

    /// <summary>The mask of an image <c>…/images/N.jpg</c>: <c>…/groundtruth/N_gt.png</c>.</summary>
    public static string MaskPathOf(string imagePath)
    {
        var dir = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(imagePath)))!;
        return Path.Combine(dir, "groundtruth", Path.GetFileNameWithoutExtension(imagePath) + "_gt.png");
    }

    /// <summary>One frame in memory: RGB bytes (rows top to bottom) and its class map (M2caiSeg indices).</summary>
    internal static (byte[] Rgb, byte[] Classes) RenderFrame(LaparoscopyPhantomOptions options, string split, int frame)
    {
        int w = options.Width, h = options.Height;
        ulong splitKey = (ulong)(Splits.ToList().IndexOf(split) + 1);
        var rng = Xoshiro256.Derive(options.Seed, splitKey, (ulong)frame, 0);
        var scene = new Scene(rng, w, h, frame);
        var classes = new byte[w * h];
        var rgb = new byte[3 * w * h];
        var noise = Xoshiro256.Derive(options.Seed, splitKey, (ulong)frame, 1);
        double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0, reach = Math.Sqrt(cx * cx + cy * cy);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int c = scene.ClassAt(x, y);
                classes[y * w + x] = (byte)c;
                if (c == 18) continue; // outside the scope's field: black in the frame too
                var (r, g, b) = Appearance[c];
                double d = Math.Sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy)) / reach;
                double light = (1 - 0.55 * d * d) * (1 + 0.08 * scene.Texture(x, y)) * scene.Exposure;
                double spec = scene.Specular(x, y);
                for (int k = 0; k < 3; k++)
                {
                    double v = (k == 0 ? r : k == 1 ? g : b) * light + 255 * spec + 4 * noise.NextGaussian();
                    rgb[3 * (y * w + x) + k] = (byte)Math.Clamp(Math.Round(v), 0, 255);
                }
            }
        return (rgb, classes);
    }

    /// <summary>The regions of one frame in pixel coordinates, queried per pixel in priority order.</summary>
    private sealed class Scene
    {
        private readonly double fieldCx, fieldCy, fieldR;
        private readonly Blob liver, gallbladder;
        private readonly Blob? wall, intestine, bile, blood, unknown, trocar;
        private readonly (double X0, double Y0, double X1, double Y1, double Half, double Tip, int Class)[] tools;
        private readonly (double X0, double Y0, double X1, double Y1, double Half)? artery;
        private readonly (double X, double Y)[] clips;
        private readonly (double X, double Y, double R)[] speculars;
        private readonly (double Kx, double Ky, double Phase)[] texture;
        public double Exposure { get; }

        public Scene(Xoshiro256 rng, int w, int h, int frame)
        {
            double s = Math.Min(w, h);
            fieldCx = w / 2.0 + rng.Uniform(-0.03, 0.03) * w;
            fieldCy = h / 2.0;
            fieldR = rng.Uniform(0.44, 0.54) * w; // wider than tall frames: the circle cuts the corners off
            Exposure = rng.Uniform(0.85, 1.1);
            liver = new Blob(rng.Uniform(0.2, 0.8) * w, rng.Uniform(-0.15, 0.15) * h, 0, rng.Uniform(0.35, 0.6) * w, rng.Uniform(0.3, 0.5) * h, 1, rng, 4, 0.1);
            gallbladder = new Blob(rng.Uniform(0.3, 0.7) * w, rng.Uniform(0.4, 0.6) * h, 0, rng.Uniform(0.12, 0.2) * w, rng.Uniform(0.12, 0.2) * h, 1, rng, 3, 0.1);
            wall = rng.Chance(0.5) ? new Blob(rng.Uniform(0, 1) * w, -0.1 * h, 0, rng.Uniform(0.4, 0.7) * w, rng.Uniform(0.12, 0.22) * h, 1, rng, 3, 0.1) : null;
            intestine = rng.Chance(0.5) ? new Blob(rng.Uniform(0.1, 0.9) * w, 1.05 * h, 0, rng.Uniform(0.2, 0.35) * w, rng.Uniform(0.2, 0.3) * h, 1, rng, 3, 0.12) : null;
            bile = rng.Chance(0.4) ? SmallBlob(rng, w, h, 0.05) : null;
            blood = rng.Chance(0.5) ? SmallBlob(rng, w, h, 0.06) : null;
            unknown = rng.Chance(0.3) ? SmallBlob(rng, w, h, 0.05) : null;
            trocar = rng.Chance(0.4) ? new Blob(rng.Chance(0.5) ? 0.04 * w : 0.96 * w, rng.Uniform(0.2, 0.8) * h, 0, 0.08 * s, 0.12 * s, 1) : null;
            if (rng.Chance(0.6))
                artery = (rng.Uniform(0.2, 0.45) * w, rng.Uniform(0.3, 0.7) * h, rng.Uniform(0.55, 0.8) * w, rng.Uniform(0.3, 0.7) * h, rng.Uniform(0.012, 0.02) * s);
            clips = artery is { } a && rng.Chance(0.6)
                ? Enumerable.Range(1, rng.NextInt(1, 3)).Select(k => (a.X0 + (a.X1 - a.X0) * k / 4.0, a.Y0 + (a.Y1 - a.Y0) * k / 4.0)).ToArray()
                : [];
            // Instruments 1–7 in turn (frame number), a second random one half the time: every class appears in every split.
            int count = rng.Chance(0.5) ? 2 : 1;
            tools = new (double, double, double, double, double, double, int)[count];
            for (int t = 0; t < count; t++)
            {
                int cls = t == 0 ? 1 + frame % 7 : rng.NextInt(1, 7);
                double angle = rng.Uniform(0, 2 * Math.PI);
                double x0 = fieldCx + 1.2 * fieldR * Math.Cos(angle), y0 = fieldCy + 1.2 * fieldR * Math.Sin(angle);
                double x1 = rng.Uniform(0.3, 0.7) * w, y1 = rng.Uniform(0.3, 0.7) * h;
                tools[t] = (x0, y0, x1, y1, rng.Uniform(0.035, 0.05) * s, rng.Uniform(0.06, 0.09) * s, cls);
            }
            speculars = Enumerable.Range(0, rng.NextInt(1, 4)).Select(_ => (rng.Uniform(0, w), rng.Uniform(0, h), rng.Uniform(0.01, 0.03) * s)).ToArray();
            texture = Enumerable.Range(0, 4).Select(_ => (rng.Uniform(-0.3, 0.3), rng.Uniform(-0.3, 0.3), rng.Uniform(0, 2 * Math.PI))).ToArray();
        }

        private static Blob SmallBlob(Xoshiro256 rng, int w, int h, double size) =>
            new(rng.Uniform(0.25, 0.75) * w, rng.Uniform(0.25, 0.75) * h, 0, size * w * rng.Uniform(0.7, 1.3), size * w * rng.Uniform(0.5, 1), 1, rng, 2, 0.15);

        public int ClassAt(double x, double y)
        {
            double dx = x - fieldCx, dy = y - fieldCy;
            if (dx * dx + dy * dy > fieldR * fieldR) return 18;
            foreach (var t in tools)
            {
                if (Distance(x, y, t.X0, t.Y0, t.X1, t.Y1) < t.Half) return t.Class;
                double ex = x - t.X1, ey = y - t.Y1;
                if (ex * ex + ey * ey < t.Tip * t.Tip) return t.Class;
            }
            if (trocar?.Inside(x, y, 0) == true) return 8;
            foreach (var (cx, cy) in clips)
                if (Math.Abs(x - cx) < 2.5 && Math.Abs(y - cy) < 4) return 9;
            if (blood?.Inside(x, y, 0) == true) return 17;
            if (bile?.Inside(x, y, 0) == true) return 16;
            if (unknown?.Inside(x, y, 0) == true) return 0;
            if (artery is { } a && Distance(x, y, a.X0, a.Y0, a.X1, a.Y1) < a.Half) return 14;
            if (gallbladder.Inside(x, y, 0)) return 11;
            if (wall?.Inside(x, y, 0) == true) return 13;
            if (liver.Inside(x, y, 0)) return 10;
            if (intestine?.Inside(x, y, 0) == true) return 15;
            return 12;
        }

        public double Texture(double x, double y)
        {
            double t = 0;
            foreach (var (kx, ky, p) in texture) t += Math.Cos(kx * x + ky * y + p);
            return t / 2;
        }

        public double Specular(double x, double y)
        {
            double v = 0;
            foreach (var (sx, sy, r) in speculars) v += Math.Exp(-((x - sx) * (x - sx) + (y - sy) * (y - sy)) / (2 * r * r));
            return Math.Min(0.6, 0.6 * v);
        }

        private static double Distance(double x, double y, double x0, double y0, double x1, double y1)
        {
            double vx = x1 - x0, vy = y1 - y0, len2 = vx * vx + vy * vy;
            double t = len2 == 0 ? 0 : Math.Clamp(((x - x0) * vx + (y - y0) * vy) / len2, 0, 1);
            double px = x0 + t * vx - x, py = y0 + t * vy - y;
            return Math.Sqrt(px * px + py * py);
        }
    }
}
