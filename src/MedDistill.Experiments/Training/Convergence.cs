using System.Globalization;
using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Training;

/// <summary>
/// Whether a run's validation Dice had levelled off, read from its epochs.csv.
/// <para>
/// Criterion (a plateau test, stated in every table's notes): with v₁..v_E the validation Dice of the E validations
/// (evenly spaced) and h = ⌈E/2⌉, the run converged when max(v₁..v_E) − max(v₁..v_h) ≤ <see cref="Tolerance"/>, i.e.
/// the second half of training raised the best validation Dice by at most 0.02 — with a cyclic schedule of two cycles,
/// the second cycle gained at most that. Runs with fewer than <see cref="MinEpochs"/> validations cannot show a
/// plateau and count as not converged. The best epoch's weights are the run's result, so the
/// criterion asks whether more training would likely have found better weights, not whether the loss still moves.
/// </para>
/// </summary>
public sealed record Convergence(int Epochs, int? BestEpoch, double? BestDice, double? FirstHalfBest, bool Converged)
{
    public const double Tolerance = 0.02;
    public const int MinEpochs = 4;

    public const string Criterion =
        "converged = the best validation Dice of the whole run exceeds the best of its first half by at most 0.02 (at least 4 validations)";

    public static Convergence Of(IReadOnlyList<double> validationDice)
    {
        int e = validationDice.Count;
        if (e == 0) return new Convergence(0, null, null, null, false);
        double best = validationDice.Max();
        int bestEpoch = validationDice.ToList().IndexOf(best) + 1;
        int half = (e + 1) / 2;
        double firstHalf = validationDice.Take(half).Max();
        return new Convergence(e, bestEpoch, best, firstHalf, e >= MinEpochs && best - firstHalf <= Tolerance + 1e-12);
    }

    /// <summary>Reads epochs.csv (<c>epoch,step,mean_loss,validation_dice,lr</c>); epochs without a validation value are skipped.</summary>
    public static Convergence Of(RunFolder folder) => Of(ValidationCurve(folder).Select(p => p.Dice).ToList());

    /// <summary>
    /// (epoch, step, validation Dice) of every validation, in order: validation.csv when the schedule validated every N
    /// steps, else the validated rows of epochs.csv.
    /// </summary>
    public static IReadOnlyList<(int Epoch, long Step, double Dice)> ValidationCurve(RunFolder folder)
    {
        var points = new List<(int, long, double)>();
        static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);
        if (File.Exists(folder.ValidationLogPath) && File.ReadLines(folder.ValidationLogPath).Skip(1).Any(l => l.Length > 0))
        {
            // step,epoch,validation_dice,lr
            foreach (var f in File.ReadLines(folder.ValidationLogPath).Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',')))
                points.Add((int.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[0], CultureInfo.InvariantCulture), D(f[2])));
            return points;
        }
        if (!File.Exists(folder.EpochLogPath)) return points;
        // epoch,step,mean_loss,validation_dice,lr
        foreach (var f in File.ReadLines(folder.EpochLogPath).Skip(1).Select(l => l.Split(',')))
        {
            if (f.Length < 4 || string.IsNullOrEmpty(f[3])) continue;
            points.Add((int.Parse(f[0], CultureInfo.InvariantCulture), long.Parse(f[1], CultureInfo.InvariantCulture), D(f[3])));
        }
        return points;
    }
}
