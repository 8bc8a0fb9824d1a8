using System.Security.Cryptography;
using MedDistill.Data.Fetch;
using MedDistill.Data.Manifest;
using static MedDistill.Data.Tests.FetchDownloaderTests;

namespace MedDistill.Data.Tests;

/// <summary>Manifest rows to files: pins, hand imports, manual instructions and dataset status.</summary>
public class FetchDataFetcherTests
{
    private DirectoryInfo _dir = null!;
    private string DataDir => Path.Combine(_dir.FullName, "data");

    [SetUp] public void SetUp() => _dir = Directory.CreateTempSubdirectory("md-fetcher-");
    [TearDown] public void TearDown() => _dir.Delete(true);

    private const string Header = "dataset,part,file,url,checksum,checksum_source,bytes,license,access,format,used_by,notes\n";

    private static DataManifest Manifest(params string[] rows) => DataManifest.Parse(Header + string.Join("\n", rows) + "\n", "test-manifest.csv");

    [Test]
    public async Task FileWithoutChecksum_IsPinnedAtFirstDownload_AndVerifiedAgainstThePinLater()
    {
        var data = RandomBytes(40_000, 21);
        var served = data;
        await using var server = new FetchTestServer(r => ServerResponse.File(r, served));
        var manifest = Manifest($"demo,all,demo.zip,{server.Url("/demo.zip")},,pinned-at-first-download,,,open,zip,,");
        var output = new StringWriter();
        using var downloader = new Downloader(Fast());
        var fetcher = new DataFetcher(DataDir, downloader, output);

        var first = (await fetcher.FetchAsync(manifest.Entries)).Single();
        var sha = Convert.ToHexStringLower(SHA256.HashData(data));
        Assert.That(first.Kind, Is.EqualTo(FetchOutcomeKind.Downloaded));
        Assert.That(first.NewPin!.Checksum.ToString(), Is.EqualTo("sha256:" + sha));
        Assert.That(output.ToString(), Does.Contain("sha256:" + sha).And.Contain("40000 bytes").And.Contain("data-manifest.csv line 2"));
        var pins = File.ReadAllLines(Path.Combine(DataDir, "pins.csv"));
        Assert.That(pins[0], Is.EqualTo("dataset,file,checksum,bytes,pinned_utc"));
        Assert.That(pins[1], Does.StartWith($"demo,demo.zip,sha256:{sha},40000,"));

        // A new fetcher (new process) reads the pin; the host now serves different bytes: that is caught.
        File.Delete(Path.Combine(DataDir, "demo", "demo.zip"));
        served = RandomBytes(40_000, 22);
        var again = (await new DataFetcher(DataDir, downloader).FetchAsync(manifest.Entries)).Single();
        Assert.That(again.Kind, Is.EqualTo(FetchOutcomeKind.Failed));
        Assert.That(again.Error, Does.Contain(sha));
        Assert.That(File.Exists(Path.Combine(DataDir, "demo", "demo.zip")), Is.False);
        Assert.That(new DataFetcher(DataDir, downloader).Status(manifest).Single().State, Is.EqualTo(DatasetState.Failed));
    }

    [Test]
    public async Task LoginRow_GivesInstructionsAndMakesNoRequest()
    {
        await using var server = new FetchTestServer(_ => ServerResponse.NotFound());
        var manifest = Manifest(
            $"syn,raw,RawData.zip,{server.Url("/Synapse:syn3193805")},,pinned-at-first-download,,Synapse terms,login,zip,ACW-SKD,Training/img and Training/label",
            $"kag,all,m2caiseg.zip,https://www.kaggle.com/datasets/salmanmaq/m2caiseg,,pinned-at-first-download,,,kaggle,zip,,");
        using var downloader = new Downloader(Fast());
        var fetcher = new DataFetcher(DataDir, downloader);
        var outcomes = await fetcher.FetchAsync(manifest.Entries);

        Assert.That(outcomes.Select(o => o.Kind), Is.All.EqualTo(FetchOutcomeKind.Manual));
        Assert.That(outcomes[0].Instructions, Does.Contain("needs an account").And.Contain(server.Url("/Synapse:syn3193805").ToString())
            .And.Contain("Training/img and Training/label").And.Contain("meddistill data import syn <path-to>/RawData.zip --part raw"));
        Assert.That(outcomes[1].Instructions, Does.Contain("kaggle datasets download -d salmanmaq/m2caiseg"));
        Assert.That(server.Requests, Is.Empty);
    }

    [Test]
    public void Import_WithKnownChecksum_CopiesAndVerifies()
    {
        var data = RandomBytes(10_000, 23);
        var source = Path.Combine(_dir.FullName, "downloads", "RawData.zip");
        Directory.CreateDirectory(Path.GetDirectoryName(source)!);
        File.WriteAllBytes(source, data);
        var manifest = Manifest($"syn,raw,RawData.zip,https://example.org/x,{Sha256Of(data)},publisher,10000,,login,zip,,");
        using var downloader = new Downloader();
        var result = new DataFetcher(DataDir, downloader).Import(manifest.Entries, [source]);

        var filed = Path.Combine(DataDir, "syn", "RawData.zip");
        Assert.That(result.Path, Is.EqualTo(filed));
        Assert.That(File.ReadAllBytes(filed), Is.EqualTo(data));
        Assert.That(File.Exists(source), Is.True, "copy is the default");
        Assert.That(result.NewPin, Is.Null);
        Assert.That(new DataFetcher(DataDir, downloader).Status(manifest).Single().State, Is.EqualTo(DatasetState.Present));
    }

    [Test]
    public void Import_WithWrongChecksum_FilesNothingAndLeavesTheSource()
    {
        var data = RandomBytes(10_000, 24);
        var source = Path.Combine(_dir.FullName, "RawData.zip");
        File.WriteAllBytes(source, data);
        var expected = Sha256Of(RandomBytes(10_000, 25));
        var manifest = Manifest($"syn,raw,RawData.zip,https://example.org/x,{expected},publisher,,,login,zip,,");
        using var downloader = new Downloader();
        var fetcher = new DataFetcher(DataDir, downloader);

        foreach (var move in new[] { false, true })
        {
            var e = Assert.Throws<ChecksumMismatchException>(() => fetcher.Import(manifest.Entries, [source], move));
            Assert.That(e!.Message, Does.Contain(expected.Hex).And.Contain(Sha256Of(data).Hex));
            Assert.That(File.ReadAllBytes(source), Is.EqualTo(data), $"source untouched (move={move})");
            Assert.That(Directory.GetFiles(Path.Combine(DataDir, "syn")), Is.Empty, "neither a final file nor a .part");
        }
        Assert.That(fetcher.Status(manifest).Single().State, Is.EqualTo(DatasetState.Failed));
    }

    [Test]
    public void Import_WithMove_TakesTheFileAndPinsWhenNoChecksumIsKnown()
    {
        var data = RandomBytes(3000, 26);
        var source = Path.Combine(_dir.FullName, "whatever-name.zip");
        File.WriteAllBytes(source, data);
        var manifest = Manifest("drive,training,training.zip,https://drive.grand-challenge.org/,,pinned-at-first-download,,,login,zip,,");
        using var downloader = new Downloader();
        var result = new DataFetcher(DataDir, downloader).Import(manifest.Entries, [source], move: true);

        Assert.That(File.Exists(source), Is.False);
        Assert.That(File.ReadAllBytes(Path.Combine(DataDir, "drive", "training.zip")), Is.EqualTo(data));
        Assert.That(result.NewPin!.Checksum, Is.EqualTo(Sha256Of(data)));
        Assert.That(new PinStore(DataDir).Find("drive", "training.zip")!.Checksum, Is.EqualTo(Sha256Of(data)));
    }

    [Test]
    public void Import_SplitParts_ConcatenatesInNameOrder()
    {
        var whole = RandomBytes(30_000, 27);
        var folder = Directory.CreateDirectory(Path.Combine(_dir.FullName, "zenodo"));
        File.WriteAllBytes(Path.Combine(folder.FullName, "ge-1-5t.tar.gz.aa"), whole[..10_000]);
        File.WriteAllBytes(Path.Combine(folder.FullName, "ge-1-5t.tar.gz.ab"), whole[10_000..25_000]);
        File.WriteAllBytes(Path.Combine(folder.FullName, "ge-1-5t.tar.gz.ac"), whole[25_000..]);
        File.WriteAllBytes(Path.Combine(folder.FullName, "siemens-3t.tar.gz.aa"), RandomBytes(100, 28)); // another archive's part
        var manifest = Manifest(
            "i2cvb,ge-1-5t,ge-1-5t.tar.gz,https://zenodo.org/record/162231,,pinned-at-first-download,,,open,tar.gz-parts,,",
            "i2cvb,siemens-3t,siemens-3t.tar.gz,https://zenodo.org/record/162231,,pinned-at-first-download,,,open,tar.gz-parts,,");
        using var downloader = new Downloader();
        var fetcher = new DataFetcher(DataDir, downloader);

        var result = fetcher.Import(manifest.Select("i2cvb", "ge-1-5t"), [folder.FullName]);
        Assert.That(result.Sources.Select(Path.GetFileName), Is.EqualTo(new[] { "ge-1-5t.tar.gz.aa", "ge-1-5t.tar.gz.ab", "ge-1-5t.tar.gz.ac" }));
        Assert.That(File.ReadAllBytes(Path.Combine(DataDir, "i2cvb", "ge-1-5t.tar.gz")), Is.EqualTo(whole));
        Assert.That(result.Checksum, Is.EqualTo(Sha256Of(whole)));

        // Explicit part files in shuffled order, matched to the row by their prefix without --part.
        File.Delete(Path.Combine(DataDir, "i2cvb", "ge-1-5t.tar.gz"));
        var shuffled = new[] { "ge-1-5t.tar.gz.ac", "ge-1-5t.tar.gz.aa", "ge-1-5t.tar.gz.ab" }.Select(n => Path.Combine(folder.FullName, n)).ToArray();
        fetcher.Import(manifest.Select("i2cvb"), shuffled);
        Assert.That(File.ReadAllBytes(Path.Combine(DataDir, "i2cvb", "ge-1-5t.tar.gz")), Is.EqualTo(whole));
    }

    [Test]
    public void Import_AmbiguousName_AsksForThePart()
    {
        var source = Path.Combine(_dir.FullName, "download.zip");
        File.WriteAllBytes(source, [1, 2, 3]);
        var manifest = Manifest(
            "drive,training,training.zip,https://drive.grand-challenge.org/,,pinned-at-first-download,,,login,zip,,",
            "drive,test,test.zip,https://drive.grand-challenge.org/,,pinned-at-first-download,,,login,zip,,");
        using var downloader = new Downloader();
        var e = Assert.Throws<ArgumentException>(() => new DataFetcher(DataDir, downloader).Import(manifest.Entries, [source]));
        Assert.That(e!.Message, Does.Contain("training.zip (--part training)").And.Contain("test.zip (--part test)"));
    }

    [Test]
    public void Status_ReportsPresentPartialMissingAndFailed()
    {
        var manifest = Manifest(
            "ok,all,a.zip,https://example.org/a,,pinned-at-first-download,3,,open,zip,,",
            "half,one,b1.tar,https://example.org/b1,,pinned-at-first-download,,,open,tar,,",
            "half,two,b2.tar,https://example.org/b2,,pinned-at-first-download,,,open,tar,,",
            "resuming,all,c.zip,https://example.org/c,,pinned-at-first-download,,,open,zip,,",
            "never,all,d.zip,https://example.org/d,,pinned-at-first-download,,,open,zip,,",
            "broken,all,e.zip,https://example.org/e,,pinned-at-first-download,,,open,zip,,",
            "short,all,f.zip,https://example.org/f,,pinned-at-first-download,100,,open,zip,,");
        void Put(string relative, int bytes)
        {
            var path = Path.Combine(DataDir, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, new byte[bytes]);
        }
        Put("ok/a.zip", 3);
        Put("half/b1.tar", 10);
        Put("resuming/c.zip.part", 10);
        Put("short/f.zip", 99);
        new FetchStateStore(DataDir).Record("broken", "e.zip", FileState.Failed, "checksum mismatch");

        using var downloader = new Downloader();
        var status = new DataFetcher(DataDir, downloader).Status(manifest).ToDictionary(s => s.Dataset, s => s.State);
        Assert.That(status, Is.EqualTo(new Dictionary<string, DatasetState>
        {
            ["ok"] = DatasetState.Present,
            ["half"] = DatasetState.Partial,
            ["resuming"] = DatasetState.Partial,
            ["never"] = DatasetState.Missing,
            ["broken"] = DatasetState.Failed,
            ["short"] = DatasetState.Missing, // a file of the wrong size does not count as present
        }));
    }

    [Test]
    public void BuiltinPhantom_IsListedSeparatelyAndNotInTheManifest()
    {
        Assert.That(BuiltinDatasets.All.Select(b => b.Name), Does.Contain("phantom-prostate"));
        var manifest = DataManifest.Load(ManifestTests.RepositoryManifestPath());
        Assert.That(manifest.Datasets, Does.Not.Contain("phantom-prostate"));
        Assert.That(BuiltinDatasets.IsPresent(BuiltinDatasets.PhantomProstate, DataDir), Is.False);
        Directory.CreateDirectory(Path.Combine(DataDir, "phantom-prostate"));
        File.WriteAllText(Path.Combine(DataDir, "phantom-prostate", "case00.nii.gz"), "x");
        Assert.That(BuiltinDatasets.IsPresent(BuiltinDatasets.PhantomProstate, DataDir), Is.True);
    }
}
