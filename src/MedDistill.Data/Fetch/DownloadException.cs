namespace MedDistill.Data.Fetch;

/// <summary>A download that failed for good (after its retries, or at once for errors a retry cannot fix such as 404).</summary>
public class DownloadException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The file arrived but its digest is not the expected one. Nothing is left under the final name.</summary>
public sealed class ChecksumMismatchException(string file, string expected, string actual, string detail)
    : DownloadException($"checksum mismatch for {file}: expected {expected}, got {actual}. {detail}")
{
    public string File { get; } = file;
    public string Expected { get; } = expected;
    public string Actual { get; } = actual;
}

/// <summary>A failure worth another try (connection reset, timeout, 5xx): the retry loop catches it.</summary>
internal sealed class TransientDownloadException(string message, Exception? inner = null) : Exception(message, inner);
