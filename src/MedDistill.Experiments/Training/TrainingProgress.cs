using System.Diagnostics;
using System.Globalization;

namespace MedDistill.Experiments.Training;

/// <summary>One training step as the progress display sees it.</summary>
public readonly record struct StepReport(long Step, long TotalSteps, int Epoch, double Loss, double LearningRate, double ImagesPerSecond);

/// <summary>Receives the trainer's progress; the CLI shows it, tests ignore or record it.</summary>
public interface ITrainingProgress
{
    void Message(string text);
    void Step(StepReport report);
    void EpochEnd(int epoch, double meanLoss, double? validationDice, bool best);
}

public sealed class SilentTrainingProgress : ITrainingProgress
{
    public static readonly SilentTrainingProgress Instance = new();
    public void Message(string text) { }
    public void Step(StepReport report) { }
    public void EpochEnd(int epoch, double meanLoss, double? validationDice, bool best) { }
}

/// <summary>
/// Progress on a text stream: on a terminal one bar redrawn in place (at most 5 times a second) with loss, learning
/// rate, images/s and ETA; otherwise (logs, CI) a plain line every 5 % of the steps or 30 seconds, whichever comes first.
/// Epoch ends and messages always get their own line.
/// </summary>
public sealed class TextTrainingProgress(TextWriter output, bool terminal) : ITrainingProgress
{
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private TimeSpan? lastShown;
    private long lastStepShown = -1;
    private bool barOpen;
    private long firstStep = -1;
    private TimeSpan firstStepTime;

    /// <summary>On standard error, as a bar when it is a terminal.</summary>
    public static TextTrainingProgress ForConsole() => new(Console.Error, !Console.IsErrorRedirected);

    public void Message(string text)
    {
        CloseBar();
        output.WriteLine(text);
    }

    public void Step(StepReport r)
    {
        if (firstStep < 0) { firstStep = r.Step - 1; firstStepTime = clock.Elapsed; }
        var now = clock.Elapsed;
        bool last = r.Step >= r.TotalSteps;
        if (terminal)
        {
            if (!last && lastShown is { } drawn && now - drawn < TimeSpan.FromMilliseconds(200)) return;
            lastShown = now;
            output.Write("\r" + Line(r, now, bar: true) + "   ");
            barOpen = true;
            if (last) CloseBar();
            return;
        }
        long every = Math.Max(1, r.TotalSteps / 20);
        bool due = last || lastShown is not { } shown || r.Step / every != lastStepShown / every || now - shown >= TimeSpan.FromSeconds(30);
        if (!due) return;
        lastShown = now;
        lastStepShown = r.Step;
        output.WriteLine(Line(r, now, bar: false));
    }

    public void EpochEnd(int epoch, double meanLoss, double? validationDice, bool best)
    {
        CloseBar();
        var dice = validationDice is double d ? string.Create(CultureInfo.InvariantCulture, $" val-dice {d:0.0000}{(best ? " (best)" : "")}") : "";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {epoch + 1}: mean loss {meanLoss:0.0000}{dice}"));
    }

    private string Line(StepReport r, TimeSpan now, bool bar)
    {
        double fraction = r.TotalSteps > 0 ? Math.Clamp((double)r.Step / r.TotalSteps, 0, 1) : 0;
        // The ETA uses this session's pace only: a resumed run's earlier steps took place in another process.
        double secondsPerStep = r.Step - firstStep > 0 ? (now - firstStepTime).TotalSeconds / (r.Step - firstStep) : 0;
        var eta = secondsPerStep > 0 ? FormatDuration(TimeSpan.FromSeconds(secondsPerStep * (r.TotalSteps - r.Step))) : "?";
        var head = bar ? $"[{new string('#', (int)Math.Round(fraction * 24)).PadRight(24, '.')}] " : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{head}step {r.Step}/{r.TotalSteps} ({fraction:P0}) epoch {r.Epoch + 1} loss {r.Loss:0.0000} lr {r.LearningRate:0.###e+0} {r.ImagesPerSecond:0.0} img/s ETA {eta}");
    }

    private void CloseBar()
    {
        if (!barOpen) return;
        output.WriteLine();
        barOpen = false;
    }

    public static string FormatDuration(TimeSpan t) =>
        t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}" : $"{t.Minutes}:{t.Seconds:00}";
}
