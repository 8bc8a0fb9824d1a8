namespace MedDistill.Distillation.Tests;

/// <summary>
/// The loss formulas of LOSS-SPEC.md written again with plain loops over double arrays, independently of the tensor code:
/// the tests compare the tensor implementation with these on small random inputs. Maps are row-major (N, C, H, W).
/// </summary>
internal static class Reference
{
    public sealed record Map(double[] Data, int N, int C, int H, int W)
    {
        public double this[int n, int c, int y, int x] => Data[((n * C + c) * H + y) * W + x];
        public double[] Pixel(int n, int y, int x) => Enumerable.Range(0, C).Select(c => this[n, c, y, x]).ToArray();
    }

    public static Map Of(Tensor t)
    {
        var s = t.shape;
        return new Map(t.to(ScalarType.Float64).ToArray<double>(), (int)s[0], (int)s[1], (int)s[2], (int)s[3]);
    }

    public static long[,,] Labels(Tensor label)
    {
        var s = label.shape;
        var flat = label.ToArray<long>();
        var result = new long[s[0], s[1], s[2]];
        int k = 0;
        for (int n = 0; n < s[0]; n++)
            for (int y = 0; y < s[1]; y++)
                for (int x = 0; x < s[2]; x++)
                    result[n, y, x] = flat[k++];
        return result;
    }

    public static double[] Softmax(double[] z, double temperature = 1)
    {
        double max = z.Max(v => v / temperature);
        var e = z.Select(v => Math.Exp(v / temperature - max)).ToArray();
        double sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    public static double Kl(double[] p, double[] q) => p.Select((pi, c) => pi * (Math.Log(pi) - Math.Log(q[c]))).Sum();

    public static double Dice(Map logits, long[,,] label, bool includeBackground, double eps)
    {
        int classes = logits.C;
        var inter = new double[classes]; var ps = new double[classes]; var gs = new double[classes];
        for (int n = 0; n < logits.N; n++)
            for (int y = 0; y < logits.H; y++)
                for (int x = 0; x < logits.W; x++)
                {
                    var p = Softmax(logits.Pixel(n, y, x));
                    for (int c = 0; c < classes; c++)
                    {
                        double g = label[n, y, x] == c ? 1 : 0;
                        inter[c] += p[c] * g; ps[c] += p[c]; gs[c] += g;
                    }
                }
        int first = includeBackground ? 0 : 1;
        double mean = 0;
        for (int c = first; c < classes; c++) mean += (2 * inter[c] + eps) / (ps[c] + gs[c] + eps);
        return 1 - mean / (classes - first);
    }

    public static double Focal(Map logits, long[,,] label, double gamma, double[]? alpha = null)
    {
        double total = 0; int count = 0;
        for (int n = 0; n < logits.N; n++)
            for (int y = 0; y < logits.H; y++)
                for (int x = 0; x < logits.W; x++)
                {
                    long c = label[n, y, x];
                    double p = Softmax(logits.Pixel(n, y, x))[c];
                    total += -(alpha?[c] ?? 1) * Math.Pow(1 - p, gamma) * Math.Log(p);
                    count++;
                }
        return total / count;
    }

    /// <summary>Mean over pixels of KL(student ‖ teacher) (or the reverse), times T²; maps of equal size.</summary>
    public static double LogitsKl(Map student, Map teacher, double temperature, bool studentFirst)
    {
        double total = 0; int count = 0;
        for (int n = 0; n < student.N; n++)
            for (int y = 0; y < student.H; y++)
                for (int x = 0; x < student.W; x++)
                {
                    var ps = Softmax(student.Pixel(n, y, x), temperature);
                    var pt = Softmax(teacher.Pixel(n, y, x), temperature);
                    total += studentFirst ? Kl(ps, pt) : Kl(pt, ps);
                    count++;
                }
        return temperature * temperature * total / count;
    }

    /// <summary>KMM on row matrices (one flattened sample per row).</summary>
    public static double KernelMatrix(double[][] student, double[][] teacher, bool normalise, bool l1Sum)
    {
        double[][] Prep(double[][] rows) => normalise
            ? rows.Select(r => { double norm = Math.Max(Math.Sqrt(r.Sum(v => v * v)), 1e-12); return r.Select(v => v / norm).ToArray(); }).ToArray()
            : rows;
        var s = Prep(student); var t = Prep(teacher);
        int n = s.Length;
        double sq = 0, l1 = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double ks = s[i].Zip(s[j], (a, b) => a * b).Sum();
                double kt = t[i].Zip(t[j], (a, b) => a * b).Sum();
                sq += (ks - kt) * (ks - kt);
                l1 += Math.Abs(ks - kt);
            }
        return sq / (n * n) + (l1Sum ? l1 : l1 / (n * n));
    }

    /// <summary>Student map after a 1×1 convolution with weight [Ct, Cs] and bias [Ct], one row per sample.</summary>
    public static double[][] Adapted(Map student, double[,] weight, double[]? bias)
    {
        int ct = weight.GetLength(0);
        var rows = new double[student.N][];
        for (int n = 0; n < student.N; n++)
        {
            rows[n] = new double[ct * student.H * student.W];
            for (int o = 0; o < ct; o++)
                for (int y = 0; y < student.H; y++)
                    for (int x = 0; x < student.W; x++)
                    {
                        double v = bias?[o] ?? 0;
                        for (int c = 0; c < student.C; c++) v += weight[o, c] * student[n, c, y, x];
                        rows[n][(o * student.H + y) * student.W + x] = v;
                    }
        }
        return rows;
    }

    public static double[][] Rows(Map m) =>
        Enumerable.Range(0, m.N).Select(n => m.Data.Skip(n * m.C * m.H * m.W).Take(m.C * m.H * m.W).ToArray()).ToArray();

    /// <summary>AAM by enumerating every ordered pair (i, j = i + offset) inside the image.</summary>
    public static (double plus, double minus, int plusPairs, int minusPairs) Affinity(Map student, long[,,] teacherLabel,
        IEnumerable<(int dy, int dx)> offsets, double margin, Map? other = null)
    {
        // other: the map whose distribution stands at the second pixel j (the student's own when null).
        other ??= student;
        double plus = 0, minus = 0; int np = 0, nm = 0;
        var offsetList = offsets.ToList();
        for (int n = 0; n < student.N; n++)
            for (int y = 0; y < student.H; y++)
                for (int x = 0; x < student.W; x++)
                    foreach (var (dy, dx) in offsetList)
                    {
                        int yj = y + dy, xj = x + dx;
                        if (yj < 0 || yj >= student.H || xj < 0 || xj >= student.W) continue;
                        double w = Kl(Softmax(student.Pixel(n, y, x)), Softmax(other.Pixel(n, yj, xj)));
                        if (teacherLabel[n, y, x] == teacherLabel[n, yj, xj]) { plus += w; np++; }
                        else { minus += Math.Max(0, margin - w); nm++; }
                    }
        return (np == 0 ? 0 : plus / np, nm == 0 ? 0 : minus / nm, np, nm);
    }

    public static long[,,] Argmax(Map logits)
    {
        var result = new long[logits.N, logits.H, logits.W];
        for (int n = 0; n < logits.N; n++)
            for (int y = 0; y < logits.H; y++)
                for (int x = 0; x < logits.W; x++)
                {
                    var p = logits.Pixel(n, y, x);
                    result[n, y, x] = Array.IndexOf(p, p.Max());
                }
        return result;
    }

    /// <summary>IMD for equally sized maps.</summary>
    public static double ImportanceMap(Map student, Map teacher, double power)
    {
        double[] Attention(Map f, int n)
        {
            var a = new double[f.H * f.W];
            for (int y = 0; y < f.H; y++)
                for (int x = 0; x < f.W; x++)
                {
                    double s = 0;
                    for (int c = 0; c < f.C; c++) s += Math.Pow(Math.Abs(f[n, c, y, x]), power);
                    a[y * f.W + x] = s / f.C;
                }
            double norm = Math.Max(Math.Sqrt(a.Sum(v => v * v)), 1e-12);
            return a.Select(v => v / norm).ToArray();
        }
        double total = 0;
        for (int n = 0; n < student.N; n++)
        {
            var s = Attention(student, n); var t = Attention(teacher, n);
            total += s.Zip(t, (a, b) => (a - b) * (a - b)).Sum();
        }
        return total / (student.N * student.H * student.W);
    }

    /// <summary>RAD for maps at the label's resolution.</summary>
    public static double RegionAffinity(Map student, Map teacher, long[,,] label)
    {
        double? Contrast(Map f, int n)
        {
            var fg = new double[f.C]; var bg = new double[f.C]; int nf = 0, nb = 0;
            for (int y = 0; y < f.H; y++)
                for (int x = 0; x < f.W; x++)
                {
                    bool isFg = label[n, y, x] > 0;
                    if (isFg) nf++; else nb++;
                    for (int c = 0; c < f.C; c++) (isFg ? fg : bg)[c] += f[n, c, y, x];
                }
            if (nf == 0 || nb == 0) return null;
            for (int c = 0; c < f.C; c++) { fg[c] /= nf; bg[c] /= nb; }
            double dot = fg.Zip(bg, (a, b) => a * b).Sum();
            double norms = Math.Sqrt(fg.Sum(v => v * v)) * Math.Sqrt(bg.Sum(v => v * v));
            return dot / Math.Max(norms, 1e-8);
        }
        double total = 0; int valid = 0;
        for (int n = 0; n < student.N; n++)
        {
            var cs = Contrast(student, n); var ct = Contrast(teacher, n);
            if (cs is null || ct is null) continue;
            total += (cs.Value - ct.Value) * (cs.Value - ct.Value);
            valid++;
        }
        return valid == 0 ? 0 : total / valid;
    }
}
