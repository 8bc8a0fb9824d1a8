using MedDistill.Data.Randomness;

namespace MedDistill.Data.Phantom;

/// <summary>
/// A retinal vessel tree grown from the optic disc: four trunks (superior and inferior temporal arcades curving round the
/// macula, two straighter nasal ones), each a bending polyline that forks into a major and a minor child of smaller
/// radius (roughly Murray's law) until the vessels are capillary-thin or leave the field of view.
/// <para>
/// Geometry is in units of the FOV radius with the disc on the right, mirrored for the other eye, so one seed gives the
/// same tree at every image size; only the rasterisation depends on pixels.
/// </para>
/// </summary>
internal sealed class VesselTree
{
    /// <summary>One straight piece of vessel: ends in FOV-radius units (centre at 0,0, y down) and the radius at each end.</summary>
    public readonly record struct Segment(double X0, double Y0, double R0, double X1, double Y1, double R1);

    private const double Step = 0.025;       // polyline step: short enough that bends look smooth at full size
    private const double TrunkRadius = 0.021;
    private const double MinRadius = 0.0035;  // below this the vessel is a capillary no annotator traces

    private readonly List<Segment> segments = [];

    public IReadOnlyList<Segment> Segments => segments;
    public double DiscX { get; }
    public double DiscY { get; }
    public double MaculaX { get; }
    public double MaculaY { get; }

    /// <param name="leftEye">Mirrors the tree so the disc sits on the left.</param>
    public VesselTree(Xoshiro256 rng, bool leftEye)
    {
        double mirror = leftEye ? -1 : 1;
        double discX = rng.Uniform(0.3, 0.42), discY = rng.Uniform(-0.06, 0.06);
        DiscX = mirror * discX;
        DiscY = discY;
        MaculaX = mirror * (discX - rng.Uniform(0.55, 0.65));
        MaculaY = discY + rng.Uniform(0.0, 0.06);
        // (initial direction, curvature per unit length, relative radius): arcades bend towards the temporal side (θ = π).
        (double Theta, double Kappa, double Scale)[] trunks =
        [
            (-Math.PI / 2 - rng.Uniform(0.15, 0.4), -rng.Uniform(0.7, 1.0), 1.0),
            (Math.PI / 2 + rng.Uniform(0.15, 0.4), rng.Uniform(0.7, 1.0), 1.0),
            (-rng.Uniform(0.6, 1.1), rng.Uniform(0.1, 0.5), 0.8),
            (rng.Uniform(0.6, 1.1), -rng.Uniform(0.1, 0.5), 0.8),
        ];
        foreach (var (theta, kappa, scale) in trunks)
            Grow(rng, discX, discY, theta, kappa, TrunkRadius * scale * rng.Uniform(0.9, 1.1), rng.Uniform(0.38, 0.48), 0, mirror);
        // A few thin vessels straight off the disc rim towards the macula (the papillomacular bundle's visible vessels).
        for (int k = rng.NextInt(2, 4); k > 0; k--)
            Grow(rng, discX, discY, Math.PI + rng.Uniform(-0.5, 0.5), rng.Uniform(-0.6, 0.6), TrunkRadius * 0.4, rng.Uniform(0.2, 0.3), 3, mirror);
    }

    private void Grow(Xoshiro256 rng, double x, double y, double theta, double kappa, double radius, double length, int depth, double mirror)
    {
        // The end radius tapers a little along the branch itself, the rest happens at the fork.
        double endRadius = radius * 0.9;
        int steps = Math.Max(2, (int)Math.Ceiling(length / Step));
        for (int s = 0; s < steps; s++)
        {
            theta += kappa * Step + 0.08 * rng.NextGaussian();
            double nx = x + Step * Math.Cos(theta), ny = y + Step * Math.Sin(theta);
            double r0 = radius + (endRadius - radius) * s / steps, r1 = radius + (endRadius - radius) * (s + 1) / steps;
            segments.Add(new Segment(mirror * x, y, r0, mirror * nx, ny, r1));
            (x, y) = (nx, ny);
            if (x * x + y * y > 1.05) return; // left the field of view: nothing beyond it is annotated
            // Larger vessels also give off thin side branches along their course, not only at forks.
            if (depth < 5 && s > 0 && s % 6 == 0 && rng.Chance(0.6))
                Grow(rng, x, y, theta + (rng.Chance(0.5) ? 1 : -1) * rng.Uniform(0.9, 1.4), rng.Uniform(-1, 1), radius * rng.Uniform(0.4, 0.55), length * rng.Uniform(0.3, 0.5), depth + 2, mirror);
        }
        if (endRadius < MinRadius || depth >= 7) return;
        // Major child keeps course, minor child leaves at a wider angle to either side.
        double side = rng.Chance(0.5) ? 1 : -1;
        Grow(rng, x, y, theta - side * rng.Uniform(0.1, 0.3), kappa * 0.5, endRadius * rng.Uniform(0.78, 0.86), length * rng.Uniform(0.7, 0.85), depth + 1, mirror);
        Grow(rng, x, y, theta + side * rng.Uniform(0.6, 1.1), rng.Uniform(-1, 1), endRadius * rng.Uniform(0.55, 0.7), length * rng.Uniform(0.55, 0.75), depth + 1, mirror);
    }

    /// <summary>
    /// Pixel maps of the tree in a <paramref name="width"/>×<paramref name="height"/> image whose FOV circle has centre
    /// (<paramref name="cx"/>, <paramref name="cy"/>) and radius <paramref name="fovRadius"/> pixels: the binary label
    /// (centre-line distance within the radius), a soft vessel profile for the image, the central light reflex and the
    /// local radius in pixels. A vessel is at least <paramref name="minPixelRadius"/> wide so thin ones stay visible at small scales.
    /// </summary>
    public Raster Rasterise(int width, int height, double cx, double cy, double fovRadius, double minPixelRadius = 0.5, double invisibleBelow = 0.2)
    {
        var raster = new Raster(width, height);
        foreach (var sg in segments)
        {
            double x0 = cx + sg.X0 * fovRadius, y0 = cy + sg.Y0 * fovRadius, x1 = cx + sg.X1 * fovRadius, y1 = cy + sg.Y1 * fovRadius;
            // A vessel much thinner than a pixel is invisible at this resolution, so no annotator would trace it.
            if (Math.Max(sg.R0, sg.R1) * fovRadius < invisibleBelow) continue;
            double ra = Math.Max(minPixelRadius, sg.R0 * fovRadius), rb = Math.Max(minPixelRadius, sg.R1 * fovRadius);
            double reach = 1.6 * Math.Max(ra, rb) + 1;
            int xa = Math.Max(0, (int)Math.Floor(Math.Min(x0, x1) - reach)), xb = Math.Min(width - 1, (int)Math.Ceiling(Math.Max(x0, x1) + reach));
            int ya = Math.Max(0, (int)Math.Floor(Math.Min(y0, y1) - reach)), yb = Math.Min(height - 1, (int)Math.Ceiling(Math.Max(y0, y1) + reach));
            double vx = x1 - x0, vy = y1 - y0, len2 = vx * vx + vy * vy;
            for (int py = ya; py <= yb; py++)
                for (int px = xa; px <= xb; px++)
                {
                    double t = len2 == 0 ? 0 : Math.Clamp(((px - x0) * vx + (py - y0) * vy) / len2, 0, 1);
                    double dx = x0 + t * vx - px, dy = y0 + t * vy - py, d = Math.Sqrt(dx * dx + dy * dy);
                    double r = ra + (rb - ra) * t;
                    if (d > 1.6 * r) continue;
                    int i = py * width + px;
                    if (d <= r) raster.Label[i] = 1;
                    // A vessel's cross-section absorbs like a cylinder: darkest at the centre, fading past the edge.
                    float profile = (float)Math.Exp(-0.9 * (d / r) * (d / r));
                    if (profile > raster.Profile[i]) { raster.Profile[i] = profile; raster.Radius[i] = (float)r; }
                    // The reflex is a thin bright line along the centre of the wider vessels only.
                    if (r >= 1.5)
                        raster.Reflex[i] = Math.Max(raster.Reflex[i], (float)Math.Exp(-(d * d) / (2 * 0.04 * r * r)));
                }
        }
        return raster;
    }

    public sealed class Raster(int width, int height)
    {
        public byte[] Label { get; } = new byte[width * height];
        public float[] Profile { get; } = new float[width * height];
        public float[] Reflex { get; } = new float[width * height];
        public float[] Radius { get; } = new float[width * height];
    }
}
