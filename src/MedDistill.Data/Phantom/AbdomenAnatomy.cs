using MedDistill.Data.Randomness;

namespace MedDistill.Data.Phantom;

/// <summary>
/// The abdominal organs the phantom draws, numbered in FLARE22's label order (1 liver … 13 left kidney) so that a FLARE
/// label is the organ's number; <see cref="AbdomenAnatomy.SynapseLabel"/> maps them to TransUNet's 8-organ order.
/// </summary>
public enum AbdominalOrgan
{
    Liver = 1, RightKidney, Spleen, Pancreas, Aorta, Ivc, RightAdrenal, LeftAdrenal, Gallbladder, Esophagus, Stomach, Duodenum, LeftKidney,
}

/// <summary>
/// One synthetic patient's upper abdomen in millimetres: x from the patient's right to left (image columns, radiological
/// view), y anterior→posterior (image rows), z superior→inferior; origin at the centre of the field of view. Organs are
/// smooth deformed ellipsoids (<see cref="Blob"/>) placed where they sit in a real abdomen — liver right and high,
/// spleen left and posterior, kidneys beside the spine with the left one higher, pancreas across the midline in front of
/// the aorta, gallbladder under the liver — with per-patient jitter of position, size and shape. Around them: a body
/// outline with subcutaneous fat, an abdominal wall, visceral fat, unlabelled bowel loops with gas, the spine (cortex,
/// marrow, canal, posterior elements), psoas and paraspinal muscles.
/// <para>
/// Overlaps are resolved by a fixed priority (vessels and small organs first), so each point has exactly one tissue and
/// the label map and the image always agree.
/// </para>
/// </summary>
internal sealed class AbdomenAnatomy
{
    /// <summary>Tissues that carry no organ label; organ tissues use the organ's number.</summary>
    internal const int Air = 20, Fat = 21, Muscle = 22, Cortex = 23, Marrow = 24, Csf = 25, Bowel = 26, Gas = 27, StomachFluid = 28, VisceralFat = 29;

    /// <summary>TransUNet's Synapse label of each organ (index = FLARE number), 0 for organs its 8 classes leave out.</summary>
    internal static readonly int[] SynapseLabel = BuildSynapseMap();

    private readonly Blob body, vertebra, marrow, canal, posterior, stomachLumen;
    private readonly double muscleLevel, cavityLevel, stomachGasZ;
    private readonly Blob[] psoas, paraspinal, bowel, bowelGas;
    // Organ parts in priority order: the first containing a point claims it.
    private readonly (AbdominalOrgan Organ, Blob Shape)[] parts;
    private readonly (double Kx, double Ky, double Kz, double Phase)[] texture;

    public AbdomenAnatomy(Xoshiro256 rng)
    {
        double bx = rng.Uniform(150, 172), by = rng.Uniform(105, 125);
        body = new Blob(0, rng.Uniform(-4, 4), 0, bx, by, 1000, rng, 3, 0.04);
        double fat = rng.Uniform(12, 32), wall = rng.Uniform(8, 13);
        muscleLevel = 1 - fat / by;
        cavityLevel = 1 - (fat + wall) / by;

        double sy = by * rng.Uniform(0.48, 0.56), vr = rng.Uniform(17, 22);
        vertebra = new Blob(0, sy, 0, vr * 1.1, vr, 1000);
        marrow = new Blob(0, sy, 0, vr * 1.1 - 3, vr - 3, 1000);
        canal = new Blob(0, sy + vr + 9, 0, 8, 7, 1000);
        posterior = new Blob(0, sy + vr + 24, 0, 22, 9, 1000, rng, 2, 0.1);
        psoas = new Blob[2];
        paraspinal = new Blob[2];
        for (int s = 0; s < 2; s++)
        {
            double side = s == 0 ? -1 : 1;
            psoas[s] = new Blob(side * (vr + 18), sy - 2, 60, rng.Uniform(12, 18), rng.Uniform(14, 20), 120, rng, 2, 0.08);
            paraspinal[s] = new Blob(side * 35, sy + vr + 28, 0, 24, 20, 1000, rng, 3, 0.08);
        }

        Blob Organ(double cx, double cy, double cz, double rx, double ry, double rz, double shift = 6, double amp = 0.10)
        {
            double k = rng.Uniform(0.88, 1.12); // overall size of this organ in this patient
            return new Blob(cx + shift * rng.NextGaussian(), cy + shift * rng.NextGaussian(), cz + shift * rng.NextGaussian(),
                rx * k * rng.Uniform(0.92, 1.08), ry * k * rng.Uniform(0.92, 1.08), rz * k * rng.Uniform(0.92, 1.08), rng, 4, amp);
        }

        double rkz = rng.Uniform(15, 35), lkz = rkz - rng.Uniform(8, 20);   // the left kidney sits higher
        double aortaX = rng.Uniform(8, 16), aortaY = sy - vr - rng.Uniform(10, 14);
        var list = new List<(AbdominalOrgan, Blob)>
        {
            (AbdominalOrgan.Aorta, new Blob(aortaX, aortaY, 0, rng.Uniform(10, 13), rng.Uniform(10, 13), 1000, rng, 2, 0.04)),
            (AbdominalOrgan.Ivc, new Blob(-rng.Uniform(22, 30), aortaY + rng.Uniform(-4, 4), 0, rng.Uniform(12, 15), rng.Uniform(8, 11), 1000, rng, 2, 0.06)),
            (AbdominalOrgan.Esophagus, new Blob(aortaX - 4, aortaY - 16, -110, 8, 7, 70, rng, 2, 0.05)),
            (AbdominalOrgan.RightAdrenal, Organ(-38, sy - 22, rkz - 58, 7, 11, 15, 3, 0.12)),
            (AbdominalOrgan.LeftAdrenal, Organ(40, sy - 18, lkz - 55, 7, 11, 15, 3, 0.12)),
            (AbdominalOrgan.Gallbladder, Organ(-48, -50, 5, 14, 15, 26, 5)),
            (AbdominalOrgan.Pancreas, Organ(-28, aortaY - 30, 12, 17, 13, 17, 3)),
            (AbdominalOrgan.Pancreas, Organ(8, aortaY - 28, 2, 20, 9, 11, 3)),
            (AbdominalOrgan.Pancreas, Organ(48, aortaY - 10, -8, 18, 9, 11, 3)),
            (AbdominalOrgan.Duodenum, Organ(-58, aortaY - 32, 0, 11, 11, 24, 3)),
            (AbdominalOrgan.Duodenum, Organ(-30, aortaY - 22, 38, 30, 10, 10, 3)),
            (AbdominalOrgan.Duodenum, Organ(-42, aortaY - 58, -18, 14, 11, 11, 3)),
            (AbdominalOrgan.RightKidney, Organ(-66, sy - 4, rkz, 24, 24, 50, 5)),
            (AbdominalOrgan.LeftKidney, Organ(66, sy - 4, lkz, 24, 24, 50, 5)),
            (AbdominalOrgan.Spleen, Organ(92, sy - 20, -45, 26, 44, 48, 6)),
        };
        var stomach = Organ(55, -30, -40, 45, 35, 55, 6);
        list.Add((AbdominalOrgan.Stomach, stomach));
        list.Add((AbdominalOrgan.Liver, Organ(-68, -8, -45, 72, 78, 68, 6, 0.08)));
        list.Add((AbdominalOrgan.Liver, Organ(5, -58, -60, 55, 34, 38, 5, 0.08)));
        parts = list.ToArray();
        // The stomach's lumen: fluid, with a gas cap in its upper third (the patient lies supine; the fundus is up).
        stomachLumen = new Blob(stomach.CentreX, stomach.CentreY, stomach.CentreZ, 0.7 * 45, 0.7 * 35, 0.7 * 55, rng, 3, 0.08);
        stomachGasZ = stomach.CentreZ - rng.Uniform(0.2, 0.45) * 55;

        bowel = new Blob[7];
        bowelGas = new Blob[7];
        for (int i = 0; i < bowel.Length; i++)
        {
            double cx = rng.Uniform(-90, 90), cy = rng.Uniform(-70, 10), cz = rng.Uniform(20, 110), r = rng.Uniform(14, 24);
            bowel[i] = new Blob(cx, cy, cz, r, r * rng.Uniform(0.7, 1), r * rng.Uniform(0.8, 1.6), rng, 3, 0.1);
            bowelGas[i] = new Blob(cx, cy - r * 0.3, cz, r * 0.45, r * 0.35, r * 0.5);
        }

        texture = new (double, double, double, double)[6];
        for (int k = 0; k < texture.Length; k++)
        {
            double wavelength = rng.Uniform(10, 40), phi = rng.Uniform(0, 2 * Math.PI), fz = rng.Uniform(-1, 1), fr = Math.Sqrt(1 - fz * fz);
            double kk = 2 * Math.PI / wavelength;
            texture[k] = (kk * fr * Math.Cos(phi), kk * fr * Math.Sin(phi), kk * fz, rng.Uniform(0, 2 * Math.PI));
        }
    }

    /// <summary>
    /// The tissue at (x, y, z) — an organ's number (1–13) or an unlabelled tissue code (20+) — and the organ label there
    /// (FLARE numbering, 0 for background): gas and fluid inside the stomach are tissue codes but label the stomach, as in
    /// the real annotations.
    /// </summary>
    public (int Tissue, int Organ) Sample(double x, double y, double z)
    {
        double level = body.Level(x, y, z);
        if (level >= 1) return (Air, 0);
        if (level > muscleLevel) return (Fat, 0);
        if (vertebra.Inside(x, y, z)) return (marrow.Inside(x, y, z) ? Marrow : Cortex, 0);
        if (canal.Inside(x, y, z)) return (Csf, 0);
        if (posterior.Inside(x, y, z)) return (Cortex, 0);
        foreach (var m in paraspinal) if (m.Inside(x, y, z)) return (Muscle, 0);
        if (level > cavityLevel) return (Muscle, 0);
        foreach (var m in psoas) if (m.Inside(x, y, z)) return (Muscle, 0);
        foreach (var (organ, shape) in parts)
        {
            if (!shape.Inside(x, y, z)) continue;
            if (organ == AbdominalOrgan.Stomach && stomachLumen.Inside(x, y, z)) return (z < stomachGasZ ? Gas : StomachFluid, (int)organ);
            return ((int)organ, (int)organ);
        }
        for (int i = 0; i < bowel.Length; i++)
            if (bowel[i].Inside(x, y, z)) return (bowelGas[i].Inside(x, y, z) ? Gas : Bowel, 0);
        return (VisceralFat, 0);
    }

    /// <summary>Smooth tissue texture in about [−1, 1], so organs are not flat and intensity alone is ambiguous.</summary>
    public double Texture(double x, double y, double z)
    {
        double t = 0;
        foreach (var k in texture) t += Math.Cos(k.Kx * x + k.Ky * y + k.Kz * z + k.Phase);
        return t / Math.Sqrt(texture.Length * 0.5);
    }

    private static int[] BuildSynapseMap()
    {
        var map = new int[14];
        map[(int)AbdominalOrgan.Aorta] = 1;
        map[(int)AbdominalOrgan.Gallbladder] = 2;
        map[(int)AbdominalOrgan.LeftKidney] = 3;
        map[(int)AbdominalOrgan.RightKidney] = 4;
        map[(int)AbdominalOrgan.Liver] = 5;
        map[(int)AbdominalOrgan.Pancreas] = 6;
        map[(int)AbdominalOrgan.Spleen] = 7;
        map[(int)AbdominalOrgan.Stomach] = 8;
        return map;
    }
}
