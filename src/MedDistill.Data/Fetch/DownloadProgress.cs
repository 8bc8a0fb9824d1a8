using System.Diagnostics;
using System.Globalization;

namespace MedDistill.Data.Fetch;

/// <summary>Receives byte counts while a file downloads.</summary>
public interface IDownloadProgress
{
    /// <param name="name">File being downloaded.</param>
    /// <param name="total">Full size when the server said it, else null.</param>
    /// <param name="resumedFrom">Bytes already on disk from an earlier try (they do not count toward the rate).</param>
    void Start(string name, long? total, long resumedFrom);
    void Report(long bytesOnDisk);
    void Finish(long bytesOnDisk);
}

public sealed class NullProgress : IDownloadProgress
{
    public static readonly NullProgress Instance = new();
    public void Start(string name, long? total, long resumedFrom) { }
    public void Report(long bytesOnDisk) { }
    public void Finish(long bytesOnDisk) { }
}

/// <summary>Shared arithmetic: rate over this session's bytes, ETA from the rate, human-readable sizes.</summary>
public abstract class RateProgress(TimeSpan interval) : IDownloadProgress
{
    private readonly Stopwatch _clock = new();
    private TimeSpan? _lastShown;
    protected string Name { get; private set; } = "";
    protected long? Total { get; private set; }
    private long _resumedFrom;

    public void Start(string name, long? total, long resumedFrom)
    {
        Name = name;
        Total = total;
        _resumedFrom = resumedFrom;
        _lastShown = null;
        _clock.Restart();
    }

    public void Report(long bytesOnDisk)
    {
        var now = _clock.Elapsed;
        if (_lastShown is { } last && now - last < interval) return;
        _lastShown = now;
        Show(bytesOnDisk, Rate(bytesOnDisk), final: false);
    }

    public void Finish(long bytesOnDisk) => Show(bytesOnDisk, Rate(bytesOnDisk), final: true);

    /// <summary>Bytes per second of this session (resumed bytes excluded).</summary>
    private double Rate(long bytesOnDisk)
    {
        var seconds = _clock.Elapsed.TotalSeconds;
        return seconds > 0 ? (bytesOnDisk - _resumedFrom) / seconds : 0;
    }

    protected string Eta(long bytesOnDisk, double rate) =>
        Total is { } total && rate > 0 && total >= bytesOnDisk ? FormatDuration(TimeSpan.FromSeconds((total - bytesOnDisk) / rate)) : "?";

    protected abstract void Show(long bytesOnDisk, double rate, bool final);

    public static string FormatBytes(double bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        int u = 0;
        while (bytes >= 1024 && u < units.Length - 1) { bytes /= 1024; u++; }
        return u == 0 ? $"{bytes:0} B" : string.Create(CultureInfo.InvariantCulture, $"{bytes:0.0} {units[u]}");
    }

    public static string FormatDuration(TimeSpan t) =>
        t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}" : $"{t.Minutes}:{t.Seconds:00}";
}

/// <summary>One self-overwriting line with a bar, size, rate and ETA, for an interactive terminal.</summary>
public sealed class TerminalProgressBar(TextWriter output, int width = 28) : RateProgress(TimeSpan.FromMilliseconds(250))
{
    protected override void Show(long bytesOnDisk, double rate, bool final)
    {
        string bar;
        if (Total is { } total && total > 0)
        {
            var fraction = Math.Clamp((double)bytesOnDisk / total, 0, 1);
            var filled = (int)Math.Round(fraction * width);
            bar = string.Create(CultureInfo.InvariantCulture,
                $"[{new string('#', filled)}{new string('-', width - filled)}] {fraction * 100,5:0.0}% {FormatBytes(bytesOnDisk)}/{FormatBytes(total)}");
        }
        else bar = FormatBytes(bytesOnDisk);
        var line = $"{Name} {bar} {FormatBytes(rate)}/s ETA {(final ? "0:00" : Eta(bytesOnDisk, rate))}";
        output.Write("\r" + line.PadRight(Console.IsOutputRedirected ? 0 : Math.Max(0, SafeWidth() - 1)));
        if (final) output.WriteLine();
        output.Flush();
    }

    private static int SafeWidth()
    {
        try { return Console.WindowWidth; } catch (IOException) { return 80; }
    }
}

/// <summary>Plain periodic lines, for logs and pipes where a carriage-return bar would be noise.</summary>
public sealed class LogLineProgress(TextWriter output, TimeSpan? interval = null) : RateProgress(interval ?? TimeSpan.FromSeconds(10))
{
    protected override void Show(long bytesOnDisk, double rate, bool final)
    {
        var of = Total is { } total && total > 0
            ? string.Create(CultureInfo.InvariantCulture, $" of {FormatBytes(total)} ({100.0 * bytesOnDisk / total:0.0}%)") : "";
        output.WriteLine(final
            ? $"{Name}: {FormatBytes(bytesOnDisk)} received ({FormatBytes(rate)}/s)"
            : $"{Name}: {FormatBytes(bytesOnDisk)}{of}, {FormatBytes(rate)}/s, ETA {Eta(bytesOnDisk, rate)}");
        output.Flush();
    }
}
