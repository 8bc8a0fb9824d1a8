using MedDistill.Data.Randomness;

namespace MedDistill.Data.Phantom;

/// <summary>
/// A smooth closed shape: an ellipsoid whose radius is perturbed by a few low-frequency harmonics of the direction,
/// r(u) = 1 + Σ a_k sin(f_k·u + φ_k), which gives organ-like lobes and dents without sharp features.
/// </summary>
internal sealed class Blob
{
    private readonly double cx, cy, cz, ix, iy, iz;
    private readonly (double Fx, double Fy, double Fz, double Phase, double Amp)[] harmonics;
    private readonly double maxBulge;

    public Blob(double cx, double cy, double cz, double rx, double ry, double rz, Xoshiro256? rng = null, int harmonicCount = 0, double maxAmp = 0)
    {
        (this.cx, this.cy, this.cz) = (cx, cy, cz);
        (ix, iy, iz) = (1 / rx, 1 / ry, 1 / rz);
        harmonics = new (double, double, double, double, double)[harmonicCount];
        for (int k = 0; k < harmonicCount; k++)
        {
            // A random direction, frequency 1–3 cycles over the unit sphere: low order, so the outline stays smooth.
            double fz = rng!.Uniform(-1, 1), phi = rng.Uniform(0, 2 * Math.PI), fr = Math.Sqrt(1 - fz * fz), f = rng.Uniform(1, 3);
            harmonics[k] = (f * fr * Math.Cos(phi), f * fr * Math.Sin(phi), f * fz, rng.Uniform(0, 2 * Math.PI), rng.Uniform(0.3, 1) * maxAmp);
            maxBulge += harmonics[k].Amp;
        }
    }

    /// <summary>Normalised radius: below 1 inside, 1 on the surface. Points well outside skip the harmonics.</summary>
    public double Level(double x, double y, double z)
    {
        double dx = (x - cx) * ix, dy = (y - cy) * iy, dz = (z - cz) * iz;
        double rho = Math.Sqrt(dx * dx + dy * dy + dz * dz);
        if (harmonics.Length == 0) return rho;
        if (rho > 1.5 * (1 + maxBulge) || rho < 1e-9) return rho / (1 + maxBulge);
        double ux = dx / rho, uy = dy / rho, uz = dz / rho, r = 1;
        foreach (var h in harmonics) r += h.Amp * Math.Sin(h.Fx * ux + h.Fy * uy + h.Fz * uz + h.Phase);
        return rho / r;
    }

    public bool Inside(double x, double y, double z) => Level(x, y, z) < 1;

    public double CentreX => cx;
    public double CentreY => cy;
    public double CentreZ => cz;
}

/// <summary>
/// One synthetic patient's pelvis in millimetres (x left–right, y anterior→posterior, z superior→inferior, origin near the
/// gland): a prostate (peripheral zone and a nodular central gland), bladder, rectum, obturator and levator muscles,
/// bones with dark cortex, periprostatic vessels, fat and air outside the body. <see cref="Brightness"/> gives a T2-like
/// reference brightness in [0, 1]; sites map it through their own contrast curve.
/// </summary>
internal sealed class PhantomAnatomy
{
    // Reference (T2-like) brightness per tissue. Gland zones sit between muscle and fat, so no single threshold isolates them.
    internal const double Air = 0.02, Fat = 0.78, Muscle = 0.28, Urine = 0.97, BladderWall = 0.30, RectalWall = 0.22,
        RectalGas = 0.04, RectalContent = 0.55, Cortex = 0.06, Marrow = 0.58, PeripheralZone = 0.66, CentralGland = 0.44, Vessel = 0.88, Capsule = 0.32;

    private readonly Blob body, gland, centralGland, bladder, bladderLumen, rectum, rectalLumen, pubis, pubisMarrow;
    private readonly Blob[] muscles, bones, marrows, vessels, nodules;
    private readonly double[] noduleValue;
    private readonly double rectalLumenValue, capsuleLevel;
    private readonly (double Kx, double Ky, double Kz, double Phase)[] texture;

    public PhantomAnatomy(Xoshiro256 rng)
    {
        double gx = Clamp(rng.NextGaussian() * 9, 18), gy = Clamp(rng.NextGaussian() * 7, 14), gz = Clamp(rng.NextGaussian() * 3, 5);
        double rx = rng.Uniform(15, 23), ry = rng.Uniform(11, 16), rz = rng.Uniform(12, 18);
        gland = new Blob(gx, gy, gz, rx, ry, rz, rng, 5, 0.12);
        // The capsule: a dark rim about 1.5 mm thick on the inside of the gland's outline (part of the label).
        capsuleLevel = 1 - 1.5 / Math.Min(rx, ry);
        centralGland = new Blob(gx, gy - 0.25 * ry, gz - 0.1 * rz, 0.6 * rx * rng.Uniform(0.85, 1.15), 0.6 * ry * rng.Uniform(0.85, 1.15),
            0.65 * rz * rng.Uniform(0.85, 1.15), rng, 3, 0.06);
        nodules = new Blob[4];
        noduleValue = new double[4];
        for (int i = 0; i < nodules.Length; i++)
        {
            double r = rng.Uniform(3, 7);
            nodules[i] = new Blob(gx + rng.Uniform(-0.4, 0.4) * rx, gy - 0.25 * ry + rng.Uniform(-0.3, 0.3) * ry, gz + rng.Uniform(-0.4, 0.4) * rz, r, r, r * 1.2);
            noduleValue[i] = rng.Chance(0.5) ? 0.34 : 0.56;
        }

        double rr = rng.Uniform(11, 15);
        double rectX = gx + rng.NextGaussian() * 3, rectY = gy + ry + rr + rng.Uniform(1, 4);
        double rrx = rr, rry = rr * rng.Uniform(0.7, 0.9);
        rectum = new Blob(rectX, rectY, 0, rrx, rry, 1000, rng, 3, 0.08);
        rectalLumen = new Blob(rectX, rectY, 0, rrx - 3.5, rry - 3.5, 1000, rng, 3, 0.12);
        rectalLumenValue = rng.Chance(0.5) ? RectalGas : RectalContent;

        double brx = rng.Uniform(25, 40), bry = rng.Uniform(18, 28), brz = rng.Uniform(18, 28);
        double bx = gx + rng.NextGaussian() * 4, by = gy - rng.Uniform(2, 8), bz = gz - 0.8 * rz - 0.7 * brz;
        bladder = new Blob(bx, by, bz, brx, bry, brz, rng, 4, 0.07);
        bladderLumen = new Blob(bx, by, bz, brx - 3, bry - 3, brz - 3, rng, 4, 0.07);

        muscles = new Blob[4];
        for (int side = 0; side < 2; side++)
        {
            double s = side == 0 ? -1 : 1;
            // Obturator internus: lateral, long in the anterior–posterior direction.
            muscles[side] = new Blob(gx + s * (rx + rng.Uniform(14, 22)), gy + rng.NextGaussian() * 3, 0, rng.Uniform(7, 11), rng.Uniform(22, 30), 60, rng, 3, 0.1);
            // Levator ani: a thin sling posterolateral to the gland.
            muscles[2 + side] = new Blob(gx + s * (0.7 * rx + 6), gy + 0.6 * ry + 6, 0, 4, 12, 60, rng, 2, 0.1);
        }

        bones = new Blob[2];
        marrows = new Blob[2];
        for (int side = 0; side < 2; side++)
        {
            double s = side == 0 ? -1 : 1, r = rng.Uniform(16, 22);
            double x = gx + s * rng.Uniform(52, 62), y = gy - rng.Uniform(5, 15);
            bones[side] = new Blob(x, y, 0, r, r, 40);
            marrows[side] = new Blob(x, y, 0, r - 3, r - 3, 40);
        }
        double py = gy - ry - rng.Uniform(22, 30);
        pubis = new Blob(gx, py, -10, 14, 8, 30);
        pubisMarrow = new Blob(gx, py, -10, 11.5, 5.5, 30);

        vessels = new Blob[6];
        for (int i = 0; i < vessels.Length; i++)
        {
            double angle = (i % 2 == 0 ? rng.Uniform(20, 70) : rng.Uniform(110, 160)) * Math.PI / 180, r = rng.Uniform(1.5, 3);
            vessels[i] = new Blob(gx + (rx + 2) * Math.Cos(angle), gy + (ry + 2) * Math.Sin(angle), gz + rng.Uniform(-0.6, 0.6) * rz, r, r, 8);
        }

        body = new Blob(gx + rng.NextGaussian() * 3, gy + 5, 0, rng.Uniform(66, 78), rng.Uniform(56, 66), 1000, rng, 3, 0.05);

        texture = new (double, double, double, double)[6];
        for (int k = 0; k < texture.Length; k++)
        {
            double wavelength = rng.Uniform(8, 30), phi = rng.Uniform(0, 2 * Math.PI), fz = rng.Uniform(-1, 1), fr = Math.Sqrt(1 - fz * fz);
            double kk = 2 * Math.PI / wavelength;
            texture[k] = (kk * fr * Math.Cos(phi), kk * fr * Math.Sin(phi), kk * fz, rng.Uniform(0, 2 * Math.PI));
        }
    }

    public bool IsGland(double x, double y, double z) => gland.Inside(x, y, z);

    /// <summary>Centre of the rectum in the axial plane: where an endorectal coil would sit.</summary>
    public (double X, double Y) RectumCentre => (rectum.CentreX, rectum.CentreY);

    /// <summary>Reference brightness of the tissue at (x, y, z), before texture.</summary>
    public double Brightness(double x, double y, double z)
    {
        double level = gland.Level(x, y, z);
        if (level < 1)
        {
            if (level > capsuleLevel) return Capsule;
            if (!centralGland.Inside(x, y, z)) return PeripheralZone;
            for (int i = 0; i < nodules.Length; i++)
                if (nodules[i].Inside(x, y, z)) return noduleValue[i];
            return CentralGland;
        }
        foreach (var v in vessels) if (v.Inside(x, y, z)) return Vessel;
        if (rectum.Inside(x, y, z)) return rectalLumen.Inside(x, y, z) ? rectalLumenValue : RectalWall;
        if (bladder.Inside(x, y, z)) return bladderLumen.Inside(x, y, z) ? Urine : BladderWall;
        foreach (var m in muscles) if (m.Inside(x, y, z)) return Muscle;
        for (int i = 0; i < bones.Length; i++)
            if (bones[i].Inside(x, y, z)) return marrows[i].Inside(x, y, z) ? Marrow : Cortex;
        if (pubis.Inside(x, y, z)) return pubisMarrow.Inside(x, y, z) ? Marrow : Cortex;
        return body.Inside(x, y, z) ? Fat : Air;
    }

    /// <summary>Smooth tissue texture in about [−1, 1]: makes regions non-uniform so intensity alone is ambiguous.</summary>
    public double Texture(double x, double y, double z)
    {
        double t = 0;
        foreach (var k in texture) t += Math.Cos(k.Kx * x + k.Ky * y + k.Kz * z + k.Phase);
        return t / Math.Sqrt(texture.Length * 0.5);
    }

    private static double Clamp(double v, double limit) => Math.Clamp(v, -limit, limit);
}
