using System.Globalization;
using System.Text;
using MedDistill.Evaluation;
using MedDistill.Experiments.Runs;
using MedDistill.Shared;

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
        File.AppendAllText(folder.ValidationLogPath, Csv.Line(I(step), I(epoch + 1), F(dice), F(lr)));
    }

    /// <summary>Keeps the header and the rows whose first column is at most <paramref name="keepUpTo"/> (-1: none).</summary>
    private static void Reset(string path, string header, long keepUpTo)
    {
        var text = header + "\n";
        if (keepUpTo >= 0 && File.Exists(path))
            text += Csv.Write(Csv.Read(File.ReadAllText(path), (line, problem) => new InvalidDataException($"{path}: line {line}: {problem}"))
                .Skip(1).Where(r => long.TryParse(r.Fields[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var k) && k <= keepUpTo)
                .Select(r => r.Fields!));
        AtomicFile.WriteAllText(path, text);
    }

    public void Step(long step, int epoch, double lr, StepValues v)
    {
        pending.Append(Csv.Line([I(step), I(epoch + 1), F(lr), F(v.Total), .. v.Terms.Select(F)]));
        if (pending.Length > 64 * 1024) Flush();
    }

    /// <summary>Epochs are numbered from 1 in the file; the reset above compares with the 0-based next epoch, so it keeps finished epochs.</summary>
    public void Epoch(int epoch, long step, double meanLoss, double? dice, double lr)
    {
        Flush();
        File.AppendAllText(folder.EpochLogPath, Csv.Line(I(epoch + 1), I(step), F(meanLoss), dice is double d ? F(d) : "", F(lr)));
    }

    public void Flush()
    {
        if (pending.Length == 0) return;
        File.AppendAllText(folder.StepLogPath, pending.ToString());
        pending.Clear();
    }

    private static string I(long v) => v.ToString(CultureInfo.InvariantCulture);
    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
