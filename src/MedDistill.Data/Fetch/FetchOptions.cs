namespace MedDistill.Data.Fetch;

/// <summary>
/// Network behaviour of <see cref="Downloader"/>. Defaults suit multi-gigabyte archives on ordinary links; tests shrink the
/// timeouts and backoff to milliseconds.
/// </summary>
public sealed record FetchOptions
{
    /// <summary>Tries per file, the first included. Each retry resumes from the bytes already in <c>.part</c>.</summary>
    public int MaxAttempts { get; init; } = 6;

    /// <summary>Wait before the second try; multiplied by <see cref="BackoffFactor"/> for each further try, capped at <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(2);
    public double BackoffFactor { get; init; } = 2.0;
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Time allowed to open the TCP/TLS connection.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Longest silence tolerated from the server: waiting for the response headers, and between two chunks of the body. A stalled
    /// transfer fails after this long instead of hanging.
    /// </summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Most interstitial pages (Google Drive's "can't scan for viruses" confirmation) followed for one file.</summary>
    public int MaxConfirmPages { get; init; } = 3;

    /// <summary>Most bytes of an HTML interstitial read to look for its confirmation form.</summary>
    public int MaxInterstitialBytes { get; init; } = 1 << 20;

    /// <summary>
    /// Rewrites every URL before it is requested (tests send drive.google.com to a loopback server). Identity by default.
    /// </summary>
    public Func<Uri, Uri>? RewriteUrl { get; init; }

    /// <summary>Backoff before try number <paramref name="attempt"/> (2 = first retry).</summary>
    public TimeSpan BackoffBefore(int attempt)
    {
        var seconds = InitialBackoff.TotalSeconds * Math.Pow(BackoffFactor, Math.Max(0, attempt - 2));
        return TimeSpan.FromSeconds(Math.Min(seconds, MaxBackoff.TotalSeconds));
    }
}
