using System.Text;
using MedDistill.Data.Manifest;

namespace MedDistill.Data.Tests;

public class ManifestTests
{
    private const string Header = "dataset,part,file,url,checksum,checksum_source,bytes,license,access,format,used_by,notes";
    private const string GoodRow = "chaos,train,CHAOS_Train_Sets.zip,https://zenodo.org/records/3431873/files/CHAOS_Train_Sets.zip,,pinned-at-first-download,,,open,zip,GKD,";

    /// <summary>data-manifest.csv at the repository root, found upward from the test binaries.</summary>
    internal static string RepositoryManifestPath()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "data-manifest.csv")) && File.Exists(Path.Combine(dir.FullName, "build.sh")))
                return Path.Combine(dir.FullName, "data-manifest.csv");
        throw new FileNotFoundException("data-manifest.csv not found above " + TestContext.CurrentContext.TestDirectory);
    }

    private static DataManifest Load() => DataManifest.Load(RepositoryManifestPath());

    [Test]
    public void RepositoryManifest_LoadsAndCoversEveryDatasetOfTheNotes()
    {
        var manifest = Load();
        // The datasets of shared/notes/datasets.md, one manifest name each.
        Assert.That(manifest.Datasets, Is.EquivalentTo(new[]
        {
            "multisite-prostate", "promise12", "nci-isbi-2013", "i2cvb", "synapse", "flare22", "m2caiseg",
            "chase-db1", "stare", "drive", "chaos", "lits",
        }));
        Assert.That(manifest.Entries.Select(e => e.Part), Has.None.Empty);
    }

    [Test]
    public void RepositoryManifest_CarriesTheFactsOfTheNotes()
    {
        var m = Load();
        ManifestEntry Row(string dataset, string file) => m.Entries.Single(e => e.Dataset == dataset && e.File == file);

        var prostate = Row("multisite-prostate", "Processed_data_nii.zip");
        Assert.That(prostate.Url.Query, Does.Contain("id=1TtrjnlnJ1yqr5m4LUGMelKTQXtvZaru-"));
        Assert.That(prostate.Url.Host, Is.EqualTo("drive.google.com"));
        Assert.That(prostate.IsAutomatic, Is.True);

        Assert.That(m.Select("promise12").Select(e => e.File), Is.EquivalentTo(new[] { "training_data.zip", "test_data.zip", "livechallenge_test_data.zip" }));
        Assert.That(Row("promise12", "training_data.zip").Url.AbsolutePath, Does.StartWith("/records/8026660/"));

        Assert.That(Row("chase-db1", "CHASEDB1.zip").Checksum!.ToString(), Is.EqualTo("md5:d9e47c4bac125b29996fae4380a68db1"));
        Assert.That(Row("lits", "Task03_Liver.tar").Checksum!.ToString(), Is.EqualTo("md5:a90ec6c4aa7f6a3d087205e23d4e6397"));
        Assert.That(Row("lits", "Task03_Liver.tar").Url.Host, Is.EqualTo("msd-for-monai.s3-us-west-2.amazonaws.com"));
        Assert.That(Row("chaos", "CHAOS_Train_Sets.zip").Checksum!.Hex, Does.StartWith("535f7d34"));
        Assert.That(m.Select("stare").Select(e => e.File), Is.EquivalentTo(new[] { "stare-images.tar", "labels-ah.tar", "labels-vk.tar" }));
        Assert.That(m.Select("i2cvb").Select(e => e.Part), Is.EquivalentTo(new[] { "ge-1-5t", "siemens-3t" }));
        Assert.That(m.Select("i2cvb"), Has.All.Matches<ManifestEntry>(e => e.IsSplitParts && !e.IsAutomatic));

        Assert.That(Row("m2caiseg", "m2caiseg.zip").Access, Is.EqualTo(Access.Kaggle));
        Assert.That(Row("synapse", "RawData.zip").Access, Is.EqualTo(Access.Login));
        Assert.That(m.Select("drive"), Has.All.Matches<ManifestEntry>(e => e.Access == Access.Login));
        Assert.That(m.Select("synapse", "transunet").Single().Url.AbsolutePath, Does.EndWith("1ACJEoTp-uqfFJ73qS3eUObQh52nGuzCd"));
    }

    [Test]
    public void RepositoryManifest_NeverClaimsAChecksumWithoutASource()
    {
        foreach (var e in Load().Entries)
        {
            if (e.Checksum is null)
                Assert.That(e.ChecksumSource, Is.AnyOf(ChecksumSource.PinnedAtFirstDownload, ChecksumSource.None), $"line {e.Line}");
            else
                Assert.That(e.ChecksumSource, Is.AnyOf(ChecksumSource.Publisher, ChecksumSource.LoaderCode), $"line {e.Line}");
        }
    }

    [Test]
    public void QuotedFields_WithCommasQuotesAndLineBreaks_Parse_AndLaterLinesAreCounted()
    {
        var text = Header + "\n" +
                   "a,p,a.zip,https://x.org/a,,none,,\"CC BY, 4.0\",open,zip,,\"says \"\"hi\"\"\nover two lines\"\r\n" +
                   "b,p,b.zip,https://x.org/b,,none,,,nope,zip,,\n";
        var e = Assert.Throws<ManifestException>(() => DataManifest.Parse(text, "m.csv"));
        Assert.That(e!.Message, Is.EqualTo("m.csv:4: access 'nope' must be one of open, login, request, kaggle"));

        var ok = DataManifest.Parse(text.Replace(",nope,", ",open,"), "m.csv");
        Assert.That(ok.Entries[0].License, Is.EqualTo("CC BY, 4.0"));
        Assert.That(ok.Entries[0].Notes, Is.EqualTo("says \"hi\"\nover two lines"));
        Assert.That(ok.Entries[1].Line, Is.EqualTo(4));
    }

    [TestCase("chaos,train,x.zip,https://a.org/x,sha256:abc,publisher,,,open,zip,,", "sha256 needs exactly 64 hexadecimal digits")]
    [TestCase("chaos,train,x.zip,https://a.org/x,crc32:00ff00ff,publisher,,,open,zip,,", "unknown algorithm 'crc32'")]
    [TestCase("chaos,train,x.zip,https://a.org/x,d9e47c4bac125b29996fae4380a68db1,publisher,,,open,zip,,", "must be 'sha256:<64 hex digits>'")]
    [TestCase("chaos,train,x.zip,ftp://a.org/x,,none,,,open,zip,,", "url 'ftp://a.org/x' is not an absolute http(s) URL")]
    [TestCase("chaos,train,x.zip,files/x.zip,,none,,,open,zip,,", "url 'files/x.zip' is not an absolute http(s) URL")]
    [TestCase("chaos,train,x.zip,https://a.org/x,,publisher,,,open,zip,,", "needs a checksum")]
    [TestCase("chaos,train,x.zip,https://a.org/x,md5:d9e47c4bac125b29996fae4380a68db1,none,,,open,zip,,", "cannot be 'none'")]
    [TestCase("chaos,train,x.zip,https://a.org/x,,vendor,,,open,zip,,", "checksum_source 'vendor' must be one of")]
    [TestCase("chaos,train,x.zip,https://a.org/x,,none,,,builtin,zip,,", "access 'builtin' must be one of open, login, request, kaggle")]
    [TestCase("chaos,train,x.zip,https://a.org/x,,none,-5,,open,zip,,", "bytes '-5' must be a positive whole number")]
    [TestCase("chaos,train,x.zip,https://a.org/x,,none,,,open,rar,,", "format 'rar' must be one of")]
    [TestCase("chaos,train,sub/x.zip,https://a.org/x,,none,,,open,zip,,", "must be a plain file name")]
    [TestCase("Chaos Set,train,x.zip,https://a.org/x,,none,,,open,zip,,", "dataset 'Chaos Set' must be lower-case")]
    [TestCase("chaos,train,x.zip,https://a.org/x,,none,,,open,zip", "expected 12 fields, found 10")]
    public void InvalidRow_IsRejectedWithItsLine(string row, string problem)
    {
        var e = Assert.Throws<ManifestException>(() => DataManifest.Parse($"{Header}\n{GoodRow}\n{row}\n", "m.csv"));
        Assert.That(e!.Line, Is.EqualTo(3));
        Assert.That(e.Message, Does.StartWith("m.csv:3: ").And.Contain(problem));
    }

    [Test]
    public void DuplicateDatasetAndFile_NamesBothLines()
    {
        var e = Assert.Throws<ManifestException>(() => DataManifest.Parse($"{Header}\n{GoodRow}\n{GoodRow.Replace(",train,", ",again,")}\n", "m.csv"));
        Assert.That(e!.Message, Is.EqualTo("m.csv:3: duplicate (dataset, file) (chaos, CHAOS_Train_Sets.zip); first on line 2"));
    }

    [Test]
    public void EveryProblem_IsReported_NotOnlyTheFirst()
    {
        var text = $"{Header}\nchaos,a,x.zip,nope,,none,,,open,zip,,\nchaos,b,y.zip,https://a.org/y,,none,,,shared,zip,,\n";
        var e = Assert.Throws<ManifestException>(() => DataManifest.Parse(text, "m.csv"));
        Assert.That(e!.Problems.Select(p => p.Line), Is.EqualTo(new[] { 2, 3 }));
    }

    [Test]
    public void WrongHeader_IsRejected()
    {
        var e = Assert.Throws<ManifestException>(() => DataManifest.Parse("dataset,file,url\n", "m.csv"));
        Assert.That(e!.Message, Does.StartWith("m.csv:1: header must be exactly"));
    }

    [Test]
    public void Select_UnknownDatasetOrPart_NamesTheKnownOnes()
    {
        var m = DataManifest.Parse($"{Header}\n{GoodRow}\n", "m.csv");
        Assert.That(Assert.Throws<ArgumentException>(() => m.Select("lits"))!.Message, Does.Contain("unknown dataset 'lits'").And.Contain("chaos"));
        Assert.That(Assert.Throws<ArgumentException>(() => m.Select("chaos", "test"))!.Message, Does.Contain("no part 'test'").And.Contain("train"));
    }

    [Test]
    public void Checksum_MatchesPublishedTestVectors()
    {
        // FIPS 180-2 and RFC 1321 test vectors for "abc".
        using var abc = new MemoryStream(Encoding.ASCII.GetBytes("abc"));
        Assert.That(Checksum.OfStream(abc, HashKind.Sha256).ToString(), Is.EqualTo("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        abc.Position = 0;
        Assert.That(Checksum.OfStream(abc, HashKind.Md5).ToString(), Is.EqualTo("md5:900150983cd24fb0d6963f7d28e17f72"));
        Assert.That(Checksum.Parse("MD5:900150983CD24FB0D6963F7D28E17F72").ToString(), Is.EqualTo("md5:900150983cd24fb0d6963f7d28e17f72"));
    }
}
