using System.Buffers.Binary;

namespace MedDistill.Data.Archives;

/// <summary>One central-directory record: what .NET's ZipArchive does not expose publicly (the compression method, flags).</summary>
internal readonly record struct ZipDirectoryEntry(string Name, ushort Method, ushort Flags, uint ExternalAttributes)
{
    public bool IsEncrypted => (Flags & 1) != 0;
    /// <summary>Unix mode in the high half of the external attributes (zips made on Unix); S_IFLNK marks a symbolic link.</summary>
    public bool IsUnixSymlink => ((ExternalAttributes >> 16) & 0xF000) == 0xA000;
}

/// <summary>
/// Reads a zip's central directory (PKWARE APPNOTE 4.3.12–4.3.16, with the ZIP64 end records) to list each entry's compression
/// method before extracting, so an archive .NET cannot decompress fails up front with a message naming the method.
/// </summary>
internal static class ZipCentralDirectory
{
    public static string MethodName(ushort method) => method switch
    {
        0 => "Stored", 1 => "Shrunk", 6 => "Imploded", 8 => "Deflate", 9 => "Deflate64", 12 => "BZIP2", 14 => "LZMA",
        19 => "IBM LZ77", 93 => "Zstandard", 95 => "XZ", 96 => "JPEG", 97 => "WavPack", 98 => "PPMd", 99 => "AES-encrypted",
        _ => "unknown",
    };

    /// <summary>Methods System.IO.Compression can decompress.</summary>
    public static bool IsSupported(ushort method) => method is 0 or 8 or 9;

    public static List<ZipDirectoryEntry> Read(Stream zip)
    {
        long length = zip.Length;
        int tailLength = (int)Math.Min(length, 22 + 0xFFFF);
        var tail = new byte[tailLength];
        zip.Seek(length - tailLength, SeekOrigin.Begin);
        zip.ReadExactly(tail);
        int eocd = -1;
        for (int i = tailLength - 22; i >= 0; i--)
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(i)) == 0x06054b50) { eocd = i; break; }
        if (eocd < 0) throw new ExtractionException("not a zip archive (no end-of-central-directory record)");

        long entries = BinaryPrimitives.ReadUInt16LittleEndian(tail.AsSpan(eocd + 10));
        long dirSize = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(eocd + 12));
        long dirOffset = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(eocd + 16));
        if (entries == 0xFFFF || dirSize == 0xFFFFFFFF || dirOffset == 0xFFFFFFFF)
        {
            // ZIP64: the locator sits just before the classic record and points at the ZIP64 end record.
            long locator = length - tailLength + eocd - 20;
            var loc = ReadAt(zip, locator, 20);
            if (BinaryPrimitives.ReadUInt32LittleEndian(loc) != 0x07064b50) throw new ExtractionException("zip: ZIP64 locator missing");
            var end = ReadAt(zip, (long)BinaryPrimitives.ReadUInt64LittleEndian(loc.AsSpan(8)), 56);
            if (BinaryPrimitives.ReadUInt32LittleEndian(end) != 0x06064b50) throw new ExtractionException("zip: ZIP64 end record missing");
            entries = (long)BinaryPrimitives.ReadUInt64LittleEndian(end.AsSpan(32));
            dirSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(end.AsSpan(40));
            dirOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(end.AsSpan(48));
        }
        if (dirOffset + dirSize > length || dirSize > int.MaxValue) throw new ExtractionException("zip: central directory out of range");

        var dir = ReadAt(zip, dirOffset, (int)dirSize);
        var result = new List<ZipDirectoryEntry>();
        int p = 0;
        for (long e = 0; e < entries; e++)
        {
            if (p + 46 > dir.Length || BinaryPrimitives.ReadUInt32LittleEndian(dir.AsSpan(p)) != 0x02014b50)
                throw new ExtractionException($"zip: central directory record {e} is damaged");
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(dir.AsSpan(p + 8));
            ushort method = BinaryPrimitives.ReadUInt16LittleEndian(dir.AsSpan(p + 10));
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(dir.AsSpan(p + 28));
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(dir.AsSpan(p + 30));
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(dir.AsSpan(p + 32));
            uint external = BinaryPrimitives.ReadUInt32LittleEndian(dir.AsSpan(p + 38));
            if (p + 46 + nameLength > dir.Length) throw new ExtractionException($"zip: central directory record {e} is damaged");
            // Bit 11: UTF-8 names; otherwise IBM437, which agrees with ASCII for the names that matter in messages.
            var name = System.Text.Encoding.UTF8.GetString(dir, p + 46, nameLength);
            result.Add(new ZipDirectoryEntry(name, method, flags, external));
            p += 46 + nameLength + extraLength + commentLength;
        }
        return result;
    }

    private static byte[] ReadAt(Stream s, long offset, int count)
    {
        var buffer = new byte[count];
        s.Seek(offset, SeekOrigin.Begin);
        s.ReadExactly(buffer);
        return buffer;
    }
}
