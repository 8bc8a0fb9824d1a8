using System.Globalization;
using MedDistill.Experiments.Runs;
using MedDistill.Shared;

namespace MedDistill.Experiments.Reports;

/// <summary>One row of a run's epochs.csv. <see cref="ValidationDice"/> is NaN for an epoch without validation.</summary>
public sealed record EpochRecord(int Epoch, long Step, double MeanLoss, double ValidationDice, double LearningRate);

/// <summary>The two training-curve charts of a set of runs, as SVG text.</summary>
public sealed record TrainingCurveCharts(string LossSvg, string DiceSvg);

public sealed record TrainingCurvesOptions
{
    public int Width { get; init; } = 640;
    public int Height { get; init; } = 400;

    /// <summary>
    /// Fix the Dice axis to 0–1 (true, the default) so charts of different runs and papers compare at a glance; false
    /// fits it to the data like the loss axis.
    /// </summary>
    public bool DiceAxisZeroToOne { get; init; } = true;

    public static TrainingCurvesOptions Default { get; } = new();
}

/// <summary>
/// Training curves of runs from their epochs.csv: the mean training loss per epoch (the whole objective: for a
/// distillation run the segmentation loss plus the weighted distillation terms) and the validation 3D Dice per epoch,
/// one line per run, against the epoch number (1-based, as in the file).
/// </summary>
public static class TrainingCurves
{
    /// <summary>Charts for <paramref name="runs"/>, named in the legends by <paramref name="labels"/> (same order).</summary>
    public static TrainingCurveCharts Render(IReadOnlyList<RunFolder> runs, IReadOnlyList<string> labels, TrainingCurvesOptions? options = null)
    {
        if (runs.Count == 0) throw new ArgumentException("no runs to draw", nameof(runs));
        if (labels.Count != runs.Count) throw new ArgumentException($"{runs.Count} runs but {labels.Count} labels", nameof(labels));
        return Render(runs.Select((r, i) => (labels[i], ReadEpochs(r.EpochLogPath))).ToList(), options);
    }

    /// <summary>Charts for already-read epoch logs, one (legend name, rows) per line.</summary>
    public static TrainingCurveCharts Render(IReadOnlyList<(string Label, IReadOnlyList<EpochRecord> Epochs)> runs, TrainingCurvesOptions? options = null)
    {
        var (loss, dice) = Charts(runs, options);
        return new TrainingCurveCharts(loss.ToSvg(), dice.ToSvg());
    }

    /// <summary>The two charts themselves, for callers that want them as PNG too.</summary>
    public static (SvgChart Loss, SvgChart Dice) Charts(IReadOnlyList<(string Label, IReadOnlyList<EpochRecord> Epochs)> runs, TrainingCurvesOptions? options = null)
    {
        options ??= TrainingCurvesOptions.Default;
        var loss = new SvgChart
        {
            Title = "Training loss (mean per epoch)",
            XLabel = "epoch",
            YLabel = "loss",
            IntegerXTicks = true,
            Width = options.Width,
            Height = options.Height,
            Series = runs.Select(r => new ChartSeries(r.Label, r.Epochs.Select(e => (double)e.Epoch).ToList(), r.Epochs.Select(e => e.MeanLoss).ToList())).ToList(),
        };
        var dice = loss with
        {
            Title = "Validation Dice",
            YLabel = "Dice",
            YMin = options.DiceAxisZeroToOne ? 0 : null,
            YMax = options.DiceAxisZeroToOne ? 1 : null,
            Series = runs.Select(r => new ChartSeries(r.Label, r.Epochs.Select(e => (double)e.Epoch).ToList(), r.Epochs.Select(e => e.ValidationDice).ToList())).ToList(),
        };
        return (loss, dice);
    }

    /// <summary>
    /// Reads an epochs.csv (header <c>epoch,step,mean_loss,validation_dice,lr</c>; columns found by name). An empty cell
    /// is NaN. Errors name the file and line.
    /// </summary>
    public static IReadOnlyList<EpochRecord> ReadEpochs(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no epoch log (has the run trained an epoch?)", path);
        var lines = Csv.Read(File.ReadAllText(path), (line, problem) => new InvalidDataException($"{path}: line {line}: {problem}"));
        if (lines.Count == 0) throw new InvalidDataException($"{path}: empty (no header)");
        var header = lines[0].Fields;
        int Column(string name)
        {
            int i = header.ToList().IndexOf(name);
            return i >= 0 ? i : throw new InvalidDataException($"{path}: no column '{name}' in the header '{string.Join(",", header)}'");
        }
        int epoch = Column("epoch"), step = Column("step"), loss = Column("mean_loss"), dice = Column("validation_dice"), lr = Column("lr");
        var rows = new List<EpochRecord>();
        for (int n = 1; n < lines.Count; n++)
        {
            var (line, cells) = lines[n];
            if (cells.Count != header.Count) throw new InvalidDataException($"{path}: line {line} has {cells.Count} cells, the header {header.Count}");
            double Number(int column) => cells[column].Length == 0 ? double.NaN
                : double.TryParse(cells[column], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
                : throw new InvalidDataException($"{path}: line {line}: '{cells[column]}' in column {header[column]} is not a number");
            if (!int.TryParse(cells[epoch], NumberStyles.Integer, CultureInfo.InvariantCulture, out var e))
                throw new InvalidDataException($"{path}: line {line}: epoch '{cells[epoch]}' is not a whole number");
            long.TryParse(cells[step], NumberStyles.Integer, CultureInfo.InvariantCulture, out var s);
            rows.Add(new EpochRecord(e, s, Number(loss), Number(dice), Number(lr)));
        }
        return rows;
    }
}
