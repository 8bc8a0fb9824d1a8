using System.Buffers.Binary;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using MedDistill.Data.Archives;

namespace MedDistill.Data.Tests;

/// <summary>Archives built in the test, extracted, and hostile ones refused with the target left as it was.</summary>
public class ExtractionTests
{
    private DirectoryInfo _dir = null!;
    private string Target => Path.Combine(_dir.FullName, "out", "dataset");

    [SetUp] public void SetUp() => _dir = Directory.CreateTempSubdirectory("md-extract-");
    [TearDown] public void TearDown() => _dir.Delete(true);

    private static readonly (string Name, string Text)[] Files =
    [
        ("Processed_data_nii/BIDMC/Case00.nii.gz", "image bytes"),
        ("Processed_data_nii/BIDMC/Case00_segmentation.nii.gz", "mask bytes"),
        ("Processed_data_nii/HK/Case01.nii.gz", new string('x', 5000)),
    ];

    private string Path_(string name) => Path.Combine(_dir.FullName, name);

    private string MakeZip(string name, IEnumerable<(string Name, byte[] Data)> entries, CompressionLevel level = CompressionLevel.Optimal)
    {
        var path = Path_(name);
        File.Delete(path);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (entryName, data) in entries)
        {
            using var s = zip.CreateEntry(entryName, level).Open();
            s.Write(data);
        }
        return path;
    }

    private static IEnumerable<(string, byte[])> Bytes((string Name, string Text)[] files) => files.Select(f => (f.Name, Encoding.UTF8.GetBytes(f.Text)));

    private static byte[] TarBytes(Action<TarWriter> write, bool gzip)
    {
        var raw = new MemoryStream();
        using (var tar = new TarWriter(raw, TarEntryFormat.Pax, leaveOpen: true)) write(tar);
        if (!gzip) return raw.ToArray();
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) z.Write(raw.ToArray());
        return gz.ToArray();
    }

    private static void AddFile(TarWriter tar, string name, string text)
    {
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) };
        tar.WriteEntry(entry);
    }

    private static void AddFiles(TarWriter tar)
    {
        tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "Processed_data_nii/"));
        foreach (var (name, text) in Files) AddFile(tar, name, text);
    }

    private void AssertExtracted(string target)
    {
        foreach (var (name, text) in Files)
            Assert.That(File.ReadAllText(Path.Combine(target, name)), Is.EqualTo(text), name);
        Assert.That(File.Exists(Path.Combine(target, ArchiveExtractor.MarkerName)), Is.True);
    }

    /// <summary>Nothing but the target (if it existed before) in the target's parent: no temp or half-extracted folders.</summary>
    private void AssertNoLeftovers(params string[] allowed)
    {
        var parent = Path.GetDirectoryName(Target)!;
        var entries = Directory.Exists(parent) ? Directory.GetFileSystemEntries(parent).Select(Path.GetFileName).ToArray() : [];
        Assert.That(entries, Is.EquivalentTo(allowed));
        Assert.That(File.Exists(Path_("evil.txt")) || File.Exists(Path.Combine(_dir.FullName, "out", "evil.txt")), Is.False, "nothing escaped");
    }

    [Test]
    public void Zip_IsExtracted()
    {
        var zip = MakeZip("a.zip", Bytes(Files));
        var result = ArchiveExtractor.Extract(zip, Target);
        AssertExtracted(Target);
        Assert.That(result.Files, Is.EqualTo(3));
        Assert.That(result.Bytes, Is.EqualTo(Files.Sum(f => Encoding.UTF8.GetByteCount(f.Text))));
        Assert.That(result.Skipped, Is.False);
        AssertNoLeftovers("dataset");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void TarAndTarGz_AreExtracted(bool gzip)
    {
        var path = Path_(gzip ? "a.tar.gz" : "a.tar");
        File.WriteAllBytes(path, TarBytes(AddFiles, gzip));
        ArchiveExtractor.Extract(path, Target);
        AssertExtracted(Target);
        AssertNoLeftovers("dataset");
    }

    [TestCase(true)]
    [TestCase(false)]
    public void SplitParts_AreConcatenatedInNameOrder(bool gzip)
    {
        var whole = TarBytes(AddFiles, gzip);
        int a = whole.Length / 3, b = 2 * whole.Length / 3;
        var parts = new[] { ("ge-1-5t.tar.gz.ab", whole[a..b]), ("ge-1-5t.tar.gz.aa", whole[..a]), ("ge-1-5t.tar.gz.ac", whole[b..]) }
            .Select(p => { File.WriteAllBytes(Path_(p.Item1), p.Item2); return Path_(p.Item1); }).ToList();
        var result = ArchiveExtractor.Extract(parts, Target);
        AssertExtracted(Target);
        Assert.That(result.ArchiveChecksum, Is.EqualTo(FetchDownloaderTests.Sha256Of(whole)), "the identity is the whole archive's sha256");
    }

    [Test]
    public void SecondExtraction_OfTheSameArchive_IsSkipped_AndANewArchiveReplacesTheOld()
    {
        var zip = MakeZip("a.zip", Bytes(Files));
        ArchiveExtractor.Extract(zip, Target);
        var stamp = File.GetLastWriteTimeUtc(Path.Combine(Target, Files[0].Name));
        File.WriteAllText(Path.Combine(Target, "note-added-later.txt"), "kept while the archive is unchanged");

        var again = ArchiveExtractor.Extract(zip, Target);
        Assert.That(again.Skipped, Is.True);
        Assert.That(File.GetLastWriteTimeUtc(Path.Combine(Target, Files[0].Name)), Is.EqualTo(stamp));
        Assert.That(File.Exists(Path.Combine(Target, "note-added-later.txt")), Is.True);

        var zip2 = MakeZip("b.zip", [("only/new.txt", "new"u8.ToArray())]);
        var replaced = ArchiveExtractor.Extract(zip2, Target);
        Assert.That(replaced.Skipped, Is.False);
        Assert.That(File.ReadAllText(Path.Combine(Target, "only", "new.txt")), Is.EqualTo("new"));
        Assert.That(File.Exists(Path.Combine(Target, Files[0].Name)), Is.False, "the old extraction was replaced, not merged");
        AssertNoLeftovers("dataset");
    }

    [Test]
    public void ExistingTargetNotMadeByUs_IsRefusedAndUntouched()
    {
        Directory.CreateDirectory(Target);
        File.WriteAllText(Path.Combine(Target, "mine.txt"), "user data");
        var zip = MakeZip("a.zip", Bytes(Files));
        var e = Assert.Throws<ExtractionException>(() => ArchiveExtractor.Extract(zip, Target));
        Assert.That(e!.Message, Does.Contain("was not made by MedDistill"));
        Assert.That(Directory.GetFileSystemEntries(Target).Select(Path.GetFileName), Is.EqualTo(new[] { "mine.txt" }));
    }

    /// <summary>
    /// Runs a hostile extraction twice: into a fresh target (which must not appear) and over a good earlier extraction (which
    /// must stay exactly as it was).
    /// </summary>
    private void AssertRefusedAndTargetUntouched(IReadOnlyList<string> archive, string messagePart, ExtractionLimits? limits = null)
    {
        var e = Assert.Throws<ExtractionException>(() => ArchiveExtractor.Extract(archive, Target, limits));
        Assert.That(e!.Message, Does.Contain(messagePart));
        Assert.That(Directory.Exists(Target), Is.False, "no half-extracted target");
        AssertNoLeftovers();

        var good = MakeZip("good.zip", Bytes(Files));
        ArchiveExtractor.Extract(good, Target);
        var before = Snapshot(Target);
        Assert.Throws<ExtractionException>(() => ArchiveExtractor.Extract(archive, Target, limits));
        Assert.That(Snapshot(Target), Is.EqualTo(before), "the earlier extraction is untouched");
        AssertNoLeftovers("dataset");
    }

    private static Dictionary<string, string> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllText);

    [Test]
    public void TarEntryWithDotDot_IsRefused()
    {
        var path = Path_("evil.tar");
        File.WriteAllBytes(path, TarBytes(t => { AddFiles(t); AddFile(t, "../evil.txt", "gotcha"); }, gzip: false));
        AssertRefusedAndTargetUntouched([path], "'../evil.txt'");
    }

    [Test]
    public void ZipEntryWithDotDot_IsRefused()
    {
        var zip = MakeZip("evil.zip", [.. Bytes(Files), ("a/../../evil.txt", "gotcha"u8.ToArray())]);
        AssertRefusedAndTargetUntouched([zip], "contains '..'");
    }

    [Test]
    public void ZipEntryWithBackslashDotDot_IsRefused()
    {
        var zip = MakeZip("evil.zip", [("..\\evil.txt", "gotcha"u8.ToArray())]);
        AssertRefusedAndTargetUntouched([zip], "contains '..'");
    }

    [Test]
    public void AbsolutePathEntry_IsRefused()
    {
        var absolute = Path.Combine(_dir.FullName, "evil.txt").Replace('\\', '/');
        var path = Path_("abs.tar.gz");
        File.WriteAllBytes(path, TarBytes(t => { AddFiles(t); AddFile(t, absolute, "gotcha"); }, gzip: true));
        AssertRefusedAndTargetUntouched([path], "absolute path");
        Assert.That(File.Exists(absolute), Is.False);
    }

    [Test]
    public void SymlinkPointingOut_IsRefused()
    {
        var path = Path_("link.tar");
        File.WriteAllBytes(path, TarBytes(t =>
        {
            AddFiles(t);
            t.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "Processed_data_nii/escape") { LinkName = "../../evil.txt" });
        }, gzip: false));
        AssertRefusedAndTargetUntouched([path], "points outside the target");
    }

    [Test]
    public void SymlinkToAbsolutePath_IsRefused()
    {
        var path = Path_("link.tar");
        File.WriteAllBytes(path, TarBytes(t => t.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "passwd") { LinkName = "/etc/passwd" }), gzip: false));
        AssertRefusedAndTargetUntouched([path], "absolute path '/etc/passwd'");
    }

    [Test]
    public void HardlinkPointingOut_IsRefused()
    {
        var path = Path_("hard.tar");
        File.WriteAllBytes(path, TarBytes(t => t.WriteEntry(new PaxTarEntry(TarEntryType.HardLink, "x") { LinkName = "../evil.txt" }), gzip: false));
        AssertRefusedAndTargetUntouched([path], "hardlink");
    }

    [Test]
    public void ZipUnixSymlinkPointingOut_IsRefused()
    {
        var path = Path_("ziplink.zip");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            var entry = zip.CreateEntry("link", CompressionLevel.NoCompression);
            entry.ExternalAttributes = unchecked((int)(0xA1FFu << 16)); // S_IFLNK | 0777, as Info-ZIP stores it
            using var s = entry.Open();
            s.Write("../../evil.txt"u8);
        }
        AssertRefusedAndTargetUntouched([path], "points outside the target");
    }

    [Test]
    public void LinksInsideTheTree_BecomeCopies()
    {
        var path = Path_("inside.tar");
        File.WriteAllBytes(path, TarBytes(t =>
        {
            AddFiles(t);
            t.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "Processed_data_nii/HK/alias.nii.gz") { LinkName = "../BIDMC/Case00.nii.gz" });
            t.WriteEntry(new PaxTarEntry(TarEntryType.HardLink, "copy.nii.gz") { LinkName = "Processed_data_nii/BIDMC/Case00_segmentation.nii.gz" });
        }, gzip: false));
        ArchiveExtractor.Extract(path, Target);
        var alias = new FileInfo(Path.Combine(Target, "Processed_data_nii/HK/alias.nii.gz"));
        Assert.That(File.ReadAllText(alias.FullName), Is.EqualTo("image bytes"));
        Assert.That(alias.LinkTarget, Is.Null, "a real file, not a link");
        Assert.That(File.ReadAllText(Path.Combine(Target, "copy.nii.gz")), Is.EqualTo("mask bytes"));
    }

    [Test]
    public void Bomb_OverTheByteLimit_IsRefused()
    {
        // 8 MiB of zeros deflates to a few KiB: the declared sizes are not what is counted, the bytes written are.
        var zip = MakeZip("bomb.zip", [("zeros.bin", new byte[8 << 20])]);
        Assert.That(new FileInfo(zip).Length, Is.LessThan(100_000));
        AssertRefusedAndTargetUntouched([zip], "limit of 1048576 bytes", new ExtractionLimits { MaxTotalBytes = 1 << 20 });
    }

    [Test]
    public void TarBomb_OverTheByteLimit_IsRefused()
    {
        var path = Path_("bomb.tar.gz");
        File.WriteAllBytes(path, TarBytes(t => AddFile(t, "zeros.txt", new string('\0', 4 << 20)), gzip: true));
        AssertRefusedAndTargetUntouched([path], "archive bomb guard", new ExtractionLimits { MaxTotalBytes = 1 << 20 });
    }

    [Test]
    public void TooManyEntries_AreRefused()
    {
        var zip = MakeZip("many.zip", Enumerable.Range(0, 30).Select(i => ($"f{i}.txt", new byte[] { 1 })));
        AssertRefusedAndTargetUntouched([zip], "30 entries exceed the limit of 10", new ExtractionLimits { MaxEntries = 10 });

        var tar = Path_("many.tar");
        File.WriteAllBytes(tar, TarBytes(t => { for (int i = 0; i < 30; i++) AddFile(t, $"f{i}.txt", "1"); }, gzip: false));
        _dir.GetDirectories("out").ToList().ForEach(d => d.Delete(true));
        AssertRefusedAndTargetUntouched([tar], "more than 10 entries", new ExtractionLimits { MaxEntries = 10 });
    }

    /// <summary>
    /// A zip whose entries claim method 14 (LZMA), which 7-Zip writes and .NET cannot read: built as a stored zip, then the method
    /// fields of the local header (offset 8) and the central directory record (offset 10) are patched (APPNOTE 4.3.7, 4.3.12).
    /// </summary>
    [Test]
    public void UnsupportedCompressionMethod_NamesTheMethodAndSays7Zip()
    {
        var path = MakeZip("lzma.zip", [("Case00.mhd", "ObjectType = Image"u8.ToArray())], CompressionLevel.NoCompression);
        var bytes = File.ReadAllBytes(path);
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(bytes), Is.EqualTo(0x04034b50u));
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), 14);
        int central = bytes.AsSpan().IndexOf("PK\u0001\u0002"u8);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(central + 10), 14);
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<ExtractionException>(() => ArchiveExtractor.Extract(path, Target));
        Assert.That(e!.Message, Does.Contain("method 14 (LZMA)").And.Contain("Case00.mhd").And.Contain("7-Zip"));
        Assert.That(Directory.Exists(Target), Is.False);
        AssertNoLeftovers();
    }

    [Test]
    public void DamagedArchive_IsAClearError()
    {
        var whole = TarBytes(AddFiles, gzip: true);
        File.WriteAllBytes(Path_("cut.tar.gz"), whole[..(whole.Length / 2)]);
        var e = Assert.Throws<ExtractionException>(() => ArchiveExtractor.Extract(Path_("cut.tar.gz"), Target));
        Assert.That(e!.Message, Does.Contain("cut.tar.gz"));
        Assert.That(Directory.Exists(Target), Is.False);
        AssertNoLeftovers();
    }
}
