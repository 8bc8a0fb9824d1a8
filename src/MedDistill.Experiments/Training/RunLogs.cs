using System.Globalization;
using System.Text;
using MedDistill.Evaluation;
using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Training;

/// <summary>
/// log.csv (one row per step: step, epoch, lr, total, terms), epochs.csv (one per epoch: epoch, step, mean loss,
/// validation Dice, lr) and, when the schedule validates every N steps, validation.csv (step, epoch, validation Dice, lr).
/// On resume each is cut back to the checkpoint, so rows the killed session wrote after it are not duplicated when the
/// steps run again.
/// </summary>
internal sealed class RunLogs
{
    private readonly RunFolder folder;
    private readonly StringBuilder pending = new();

    public RunLogs(RunFolder folder, IReadOnlyList<string> termNames, TrainingPosition? resumeFrom)
    {
        this.folder = folder;
        var stepHeader = "step,epoch,lr,total," + string.Join(",", termNames);
        const string epochHeader = "epoch,step,mean_loss,validation_dice,lr";
        Reset(folder.StepLogPath, stepHeader, resumeFrom is null ? -1 : resumeFrom.Step);
        Reset(folder.EpochLogPath, epochHeader, resumeFrom is null ? -1 : resumeFrom.Epoch);
        Reset(folder.ValidationLogPath, ValidationHeader, resumeFrom is null ? -1 : resumeFrom.Step);
    }

    public const string ValidationHeader = "step,epoch,validation_dice,lr";

    /// <summary>A validation between epoch ends (the schedule's validateEvery); written at once, before any checkpoint.</summary>
    public void Validation(long step, int epoch, double dice, double lr)
    {
        Flush();
        File.AppendAllText(folder.ValidationLogPath, string.Create(CultureInfo.InvariantCulture, $"{step},{epoch + 1},{F(dice)},{F(lr)}\n"));
    }

    /// <summary>Keeps the header and the rows whose first column is at most <paramref name="keepUpTo"/> (-1: none).</summary>
    private static void Reset(string path, string header, long keepUpTo)
    {
        var rows = new List<string> { header };
        if (keepUpTo >= 0 && File.Exists(path))
            rows.AddRange(File.ReadAllLines(path).Skip(1).Where(l =>
                long.TryParse(l.Split(',')[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var k) && k <= keepUpTo));
        AtomicFile.WriteAllText(path, string.Join("\n", rows) + "\n");
    }

    public void Step(long step, int epoch, double lr, StepValues v)
    {
        pending.Append(step).Append(',').Append(epoch + 1).Append(',').Append(F(lr)).Append(',').Append(F(v.Total));
        foreach (var t in v.Terms) pending.Append(',').Append(F(t));
        pending.Append('\n');
        if (pending.Length > 64 * 1024) Flush();
    }

    /// <summary>Epochs are numbered from 1 in the file; the reset above compares with the 0-based next epoch, so it keeps finished epochs.</summary>
    public void Epoch(int epoch, long step, double meanLoss, double? dice, double lr)
    {
        Flush();
        File.AppendAllText(folder.EpochLogPath, string.Create(CultureInfo.InvariantCulture,
            $"{epoch + 1},{step},{F(meanLoss)},{(dice is double d ? F(d) : "")},{F(lr)}\n"));
    }

    public void Flush()
    {
        if (pending.Length == 0) return;
        File.AppendAllText(folder.StepLogPath, pending.ToString());
        pending.Clear();
    }

    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
