using MedDistill.Distillation.Mskd;

namespace MedDistill.Distillation.Tests;

/// <summary>
/// MSKD's two terms written again with plain loops over doubles, independently of the tensor code (docs/distillation.md,
/// "MSKD"). Teacher logits are at the label's size; feature sizes must divide the label's (block averaging).
/// </summary>
internal static class MskdReference
{
    /// <summary>masks[n][k][y, x] at the label's size, after the filter; background dropped when the options say so.</summary>
    public static double[][][,] Masks(long[,,] label, Reference.Map teacherLogits, MskdOptions o)
    {
        int n = label.GetLength(0), h = label.GetLength(1), w = label.GetLength(2), classes = teacherLogits.C;
        int first = o.IncludeBackground ? 0 : 1;
        var masks = new double[n][][,];
        for (int s = 0; s < n; s++)
        {
            masks[s] = new double[classes - first][,];
            for (int k = first; k < classes; k++) masks[s][k - first] = new double[h, w];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    var p = Reference.Softmax(teacherLogits.Pixel(s, y, x));
                    int predicted = Array.IndexOf(p, p.Max());
                    long region = o.Regions == RegionSource.Label ? label[s, y, x] : predicted;
                    bool keep = o.Filter switch
                    {
                        RegionFilter.None => true,
                        RegionFilter.TeacherCorrect => predicted == label[s, y, x],
                        _ => p.Max() >= o.ConfidenceThreshold,
                    };
                    if (keep && region >= first) masks[s][region - first][y, x] = 1;
                }
        }
        return masks;
    }

    /// <summary>Prototypes [n][k] (channel vectors) and validity of map f for masks block-averaged to f's size.</summary>
    public static (double[][][] prototypes, bool[][] valid) Prototypes(Reference.Map f, double[][][,] masks)
    {
        int n = f.N, classes = masks[0].Length, bh = masks[0][0].GetLength(0) / f.H, bw = masks[0][0].GetLength(1) / f.W;
        var prototypes = new double[n][][];
        var valid = new bool[n][];
        for (int s = 0; s < n; s++)
        {
            prototypes[s] = new double[classes][];
            valid[s] = new bool[classes];
            for (int k = 0; k < classes; k++)
            {
                var sum = new double[f.C];
                double mass = 0;
                for (int y = 0; y < f.H; y++)
                    for (int x = 0; x < f.W; x++)
                    {
                        double m = 0;
                        for (int dy = 0; dy < bh; dy++)
                            for (int dx = 0; dx < bw; dx++) m += masks[s][k][y * bh + dy, x * bw + dx];
                        m /= bh * bw;
                        mass += m;
                        for (int c = 0; c < f.C; c++) sum[c] += m * f[s, c, y, x];
                    }
                valid[s][k] = mass > 0;
                prototypes[s][k] = sum.Select(v => mass > 0 ? v / mass : 0).ToArray();
            }
        }
        return (prototypes, valid);
    }

    public static double Ffd(Reference.Map student, Reference.Map teacher, double[][][,] masks, PrototypeDistance distance,
        double[,]? weight = null, double[]? bias = null)
    {
        var (ps, valid) = Prototypes(student, masks);
        var (pt, _) = Prototypes(teacher, masks);
        double total = 0; int count = 0;
        for (int s = 0; s < ps.Length; s++)
            for (int k = 0; k < ps[s].Length; k++)
            {
                if (!valid[s][k]) continue;
                var a = weight is null ? ps[s][k] : Adapt(ps[s][k], weight, bias);
                var b = pt[s][k];
                total += distance == PrototypeDistance.Cosine
                    ? 1 - Dot(a, b) / (Norm(a) * Norm(b))
                    : a.Select((v, c) => (v - b[c]) * (v - b[c])).Average();
                count++;
            }
        return count == 0 ? 0 : total / count;
    }

    public static double Rgd(Reference.Map student, Reference.Map teacher, double[][][,] masks)
    {
        var (ps, valid) = Prototypes(student, masks);
        var (pt, _) = Prototypes(teacher, masks);
        double total = 0; int count = 0;
        for (int s = 0; s < ps.Length; s++)
            for (int i = 0; i < ps[s].Length; i++)
                for (int j = 0; j < ps[s].Length; j++)
                {
                    if (i == j || !valid[s][i] || !valid[s][j]) continue;
                    double d = Cos(ps[s][i], ps[s][j]) - Cos(pt[s][i], pt[s][j]);
                    total += d * d;
                    count++;
                }
        return count == 0 ? 0 : total / count;
    }

    private static double[] Adapt(double[] p, double[,] weight, double[]? bias) =>
        Enumerable.Range(0, weight.GetLength(0))
            .Select(o => Enumerable.Range(0, p.Length).Sum(c => weight[o, c] * p[c]) + (bias?[o] ?? 0)).ToArray();

    private static double Dot(double[] a, double[] b) => a.Select((v, c) => v * b[c]).Sum();
    private static double Norm(double[] a) => Math.Sqrt(Dot(a, a));
    private static double Cos(double[] a, double[] b) => Dot(a, b) / (Norm(a) * Norm(b));
}
