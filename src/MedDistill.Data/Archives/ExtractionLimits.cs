namespace MedDistill.Data.Archives;

/// <summary>
/// Ceilings against archive bombs: extraction stops (and removes what it wrote) once the bytes actually written or the number
/// of entries exceed them. Defaults leave room for the largest archive in the manifest (MSD Task03_Liver, ~29 GB) several times
/// over; lower them for untrusted input.
/// </summary>
public sealed record ExtractionLimits
{
    public long MaxTotalBytes { get; init; } = 256L << 30;
    public int MaxEntries { get; init; } = 1_000_000;

    public static readonly ExtractionLimits Default = new();
}

/// <summary>An archive that cannot or must not be extracted; the target directory is left as it was.</summary>
public sealed class ExtractionException(string message, Exception? inner = null) : Exception(message, inner);
