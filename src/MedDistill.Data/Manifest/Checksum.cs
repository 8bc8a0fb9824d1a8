using System.Security.Cryptography;

namespace MedDistill.Data.Manifest;

public enum HashKind { Md5, Sha256 }

/// <summary>
/// A file digest written as <c>sha256:&lt;64 hex&gt;</c> or <c>md5:&lt;32 hex&gt;</c> (lower-case hex; upper case is accepted and
/// normalised on parse).
/// </summary>
public sealed record Checksum(HashKind Kind, string Hex)
{
    public static Checksum Parse(string text) =>
        TryParse(text, out var checksum, out var error) ? checksum! : throw new FormatException(error);

    public static bool TryParse(string text, out Checksum? checksum, out string? error)
    {
        checksum = null;
        error = null;
        var colon = text.IndexOf(':');
        if (colon < 0)
        {
            error = $"checksum '{text}' must be 'sha256:<64 hex digits>' or 'md5:<32 hex digits>'";
            return false;
        }
        var prefix = text[..colon].Trim().ToLowerInvariant();
        var hex = text[(colon + 1)..].Trim().ToLowerInvariant();
        (HashKind kind, int length) = prefix switch
        {
            "sha256" => (HashKind.Sha256, 64),
            "md5" => (HashKind.Md5, 32),
            _ => (HashKind.Sha256, -1),
        };
        if (length < 0)
        {
            error = $"checksum '{text}' has unknown algorithm '{prefix}' (use sha256 or md5)";
            return false;
        }
        if (hex.Length != length || !hex.All(Uri.IsHexDigit))
        {
            error = $"checksum '{text}': {prefix} needs exactly {length} hexadecimal digits, got {hex.Length} characters";
            return false;
        }
        checksum = new Checksum(kind, hex);
        return true;
    }

    public override string ToString() => $"{(Kind == HashKind.Sha256 ? "sha256" : "md5")}:{Hex}";

    public IncrementalHash CreateHasher() =>
        IncrementalHash.CreateHash(Kind == HashKind.Sha256 ? HashAlgorithmName.SHA256 : HashAlgorithmName.MD5);

    /// <summary>Digest of a whole file, read in 1 MiB chunks so multi-gigabyte archives need no memory.</summary>
    public static Checksum OfFile(string path, HashKind kind, CancellationToken cancel = default)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        return OfStream(stream, kind, cancel);
    }

    public static Checksum OfStream(Stream stream, HashKind kind, CancellationToken cancel = default)
    {
        using var hasher = IncrementalHash.CreateHash(kind == HashKind.Sha256 ? HashAlgorithmName.SHA256 : HashAlgorithmName.MD5);
        var buffer = new byte[1 << 20];
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            cancel.ThrowIfCancellationRequested();
            hasher.AppendData(buffer, 0, n);
        }
        return new Checksum(kind, Convert.ToHexStringLower(hasher.GetHashAndReset()));
    }

    public bool Matches(Checksum other) => Kind == other.Kind && string.Equals(Hex, other.Hex, StringComparison.Ordinal);
}
