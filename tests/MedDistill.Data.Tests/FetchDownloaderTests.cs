using System.Diagnostics;
using System.Security.Cryptography;
using MedDistill.Data.Fetch;
using MedDistill.Data.Manifest;

namespace MedDistill.Data.Tests;

/// <summary>The downloader against a loopback server: every failure mode the brief names, never the real network.</summary>
public class FetchDownloaderTests
{
    private DirectoryInfo _dir = null!;

    [SetUp] public void SetUp() => _dir = Directory.CreateTempSubdirectory("md-fetch-");
    [TearDown] public void TearDown() => _dir.Delete(true);

    internal static byte[] RandomBytes(int n, int seed)
    {
        var data = new byte[n];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>Digest computed with the BCL directly, independent of the code under test.</summary>
    internal static Checksum Sha256Of(byte[] data) => new(HashKind.Sha256, Convert.ToHexStringLower(SHA256.HashData(data)));

    internal static FetchOptions Fast(int attempts = 3, double readTimeoutSeconds = 5) => new()
    {
        MaxAttempts = attempts,
        InitialBackoff = TimeSpan.FromMilliseconds(20),
        MaxBackoff = TimeSpan.FromMilliseconds(100),
        ReadTimeout = TimeSpan.FromSeconds(readTimeoutSeconds),
        ConnectTimeout = TimeSpan.FromSeconds(5),
    };

    private string Target(string name = "file.bin") => Path.Combine(_dir.FullName, name);

    [Test]
    public async Task FullDownload_WritesVerifiedFileAndNoPart()
    {
        var data = RandomBytes(300_000, 1);
        await using var server = new FetchTestServer(r => ServerResponse.File(r, data));
        using var downloader = new Downloader(Fast());
        var result = await downloader.DownloadAsync(server.Url("/f.bin"), Target(), Sha256Of(data));

        Assert.That(File.ReadAllBytes(Target()), Is.EqualTo(data));
        Assert.That(File.Exists(Target() + ".part"), Is.False);
        Assert.That(result.Checksum, Is.EqualTo(Sha256Of(data)));
        Assert.That(result.Bytes, Is.EqualTo(300_000));
        Assert.That(server.Requests, Has.Count.EqualTo(1));
        Assert.That(server.Requests[0].Range, Is.Null, "a fresh download asks for the whole file");
    }

    [Test]
    public async Task Md5Checksum_IsVerifiedToo()
    {
        var data = RandomBytes(5000, 2);
        var md5 = new Checksum(HashKind.Md5, Convert.ToHexStringLower(MD5.HashData(data)));
        await using var server = new FetchTestServer(r => ServerResponse.File(r, data));
        using var downloader = new Downloader(Fast());
        var result = await downloader.DownloadAsync(server.Url("/f.bin"), Target(), md5);
        Assert.That(result.Checksum, Is.EqualTo(md5));
        Assert.That(File.ReadAllBytes(Target()), Is.EqualTo(data));
    }

    [Test]
    public async Task ConnectionCutMidFile_ResumesWithRangeAndVerifies()
    {
        var data = RandomBytes(200_000, 3);
        await using var server = new FetchTestServer(r =>
            r.Index == 0 ? ServerResponse.File(r, data, cutAfter: 70_000) : ServerResponse.File(r, data));
        var log = new StringWriter();
        using var downloader = new Downloader(Fast(), log: log);
        var result = await downloader.DownloadAsync(server.Url("/f.bin"), Target(), Sha256Of(data));

        Assert.That(server.Requests, Has.Count.EqualTo(2));
        Assert.That(server.Requests[0].Range, Is.Null);
        Assert.That(server.Requests[1].Range, Is.EqualTo("bytes=70000-"), "the second request continues after the 70000 bytes received");
        Assert.That(File.ReadAllBytes(Target()), Is.EqualTo(data));
        Assert.That(result.ResumedRequests, Is.EqualTo(1));
    }

    [Test]
    public async Task ServerIgnoringRange_RestartsFromZero()
    {
        var data = RandomBytes(150_000, 4);
        await using var server = new FetchTestServer(r =>
            r.Index == 0 ? ServerResponse.File(r, data, cutAfter: 50_000) : ServerResponse.File(r, data, honourRange: false));
        var log = new StringWriter();
        using var downloader = new Downloader(Fast(), log: log);
        await downloader.DownloadAsync(server.Url("/f.bin"), Target(), Sha256Of(data));

        Assert.That(server.Requests[1].Range, Is.EqualTo("bytes=50000-"));
        Assert.That(File.ReadAllBytes(Target()), Is.EqualTo(data), "the 200 body replaced the partial file instead of being appended");
        Assert.That(log.ToString(), Does.Contain("ignored the Range"));
    }

    [Test]
    public async Task LeftoverPart_FromAnEarlierRun_IsResumed()
    {
        var data = RandomBytes(100_000, 5);
        File.WriteAllBytes(Target() + ".part", data[..40_000]);
        await using var server = new FetchTestServer(r => ServerResponse.File(r, data));
        using var downloader = new Downloader(Fast());
        await downloader.DownloadAsync(server.Url("/f.bin"), Target(), Sha256Of(data));
        Assert.That(server.Requests.Single().Range, Is.EqualTo("bytes=40000-"));
        Assert.That(File.ReadAllBytes(Target()), Is.EqualTo(data));
    }

    [Test]
    public async Task CompletePart_AnsweredWith416_IsVerifiedWithoutRedownload()
    {
        var data = RandomBytes(20_000, 6);
        File.WriteAllBytes(Target() + ".part", data);
        await using var server = new FetchTestServer(r => ServerResponse.File(r, data));
        using var downloader = new Downloader(Fast());
        await downloader.DownloadAsync(server.Url("/f.bin"), Target(), Sha256Of(data));
        Assert.That(server.Requests.Single().Range, Is.EqualTo("bytes=20000-"));
        Assert.That(File.ReadAllBytes(Target()), Is.EqualTo(data));
    }

    [Test]
    public async Task ChecksumMismatch_LeavesNoFinalFileAndNamesBothDigests()
    {
        var data = RandomBytes(50_000, 7);
        var wrong = Sha256Of(RandomBytes(50_000, 8));
        await using var server = new FetchTestServer(r => ServerResponse.File(r, data));
        using var downloader = new Downloader(Fast());
        var e = Assert.ThrowsAsync<ChecksumMismatchException>(() => downloader.DownloadAsync(server.Url("/f.bin"), Target(), wrong));

        Assert.That(e!.Message, Does.Contain(wrong.Hex).And.Contain(Sha256Of(data).Hex).And.Contain("file.bin"));
        Assert.That(File.Exists(Target()), Is.False, "no corrupt final file");
        Assert.That(File.Exists(Target() + ".part"), Is.False, "the corrupt partial is deleted so it is not resumed");
    }

    [Test]
    public async Task WrongSize_IsAMismatchBeforeHashing()
    {
        var data = RandomBytes(1000, 9);
        await using var server = new FetchTestServer(r => ServerResponse.File(r, data));
        using var downloader = new Downloader(Fast());
        var e = Assert.ThrowsAsync<ChecksumMismatchException>(() => downloader.DownloadAsync(server.Url("/f.bin"), Target(), null, expectedBytes: 999));
        Assert.That(e!.Message, Does.Contain("999 bytes").And.Contain("1000 bytes"));
        Assert.That(_dir.GetFiles(), Is.Empty);
    }

    [Test]
    public async Task NotFound_IsAClearErrorWithNothingWrittenAndNoRetry()
    {
        await using var server = new FetchTestServer(_ => ServerResponse.NotFound());
        using var downloader = new Downloader(Fast(attempts: 4));
        var e = Assert.ThrowsAsync<DownloadException>(() => downloader.DownloadAsync(server.Url("/missing.zip"), Target(), null));
        Assert.That(e!.Message, Does.Contain("404").And.Contain("/missing.zip"));
        Assert.That(_dir.GetFiles(), Is.Empty, "nothing written");
        Assert.That(server.Requests, Has.Count.EqualTo(1), "a 404 is not retried");
    }

    [Test]
    public async Task ServerErrors_AreRetriedWithBackoff_ThenSucceed()
    {
        var data = RandomBytes(10_000, 10);
        await using var server = new FetchTestServer(r =>
            r.Index < 2 ? new ServerResponse { Status = 503, Reason = "Service Unavailable" } : ServerResponse.File(r, data));
        var log = new StringWriter();
        var options = Fast(attempts: 3) with { InitialBackoff = TimeSpan.FromMilliseconds(150), BackoffFactor = 2, MaxBackoff = TimeSpan.FromSeconds(1) };
        using var downloader = new Downloader(options, log: log);
        var clock = Stopwatch.StartNew();
        await downloader.DownloadAsync(server.Url("/f.bin"), Target(), Sha256Of(data));
        clock.Stop();

        Assert.That(server.Requests, Has.Count.EqualTo(3));
        Assert.That(File.ReadAllBytes(Target()), Is.EqualTo(data));
        Assert.That(log.ToString(), Does.Contain("HTTP 503").And.Contain("try 2 of 3 in 0.15 s").And.Contain("try 3 of 3 in 0.3 s"));
        Assert.That(clock.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(440)), "waited 150 ms + 300 ms between the tries");
    }

    [Test]
    public async Task RetriesExhausted_ReportTheTriesAndTheLastError()
    {
        await using var server = new FetchTestServer(_ => new ServerResponse { Status = 500, Reason = "Internal Server Error" });
        using var downloader = new Downloader(Fast(attempts: 2));
        var e = Assert.ThrowsAsync<DownloadException>(() => downloader.DownloadAsync(server.Url("/f.bin"), Target(), null));
        Assert.That(e!.Message, Does.Contain("after 2 tries").And.Contain("HTTP 500"));
        Assert.That(server.Requests, Has.Count.EqualTo(2));
    }

    [TestCase(2, 2.0)]
    [TestCase(3, 4.0)]
    [TestCase(4, 8.0)]
    [TestCase(5, 10.0)]
    [TestCase(9, 10.0)]
    public void Backoff_DoublesFromTheInitialWaitUpToTheCap(int attempt, double seconds)
    {
        var options = new FetchOptions { InitialBackoff = TimeSpan.FromSeconds(2), BackoffFactor = 2, MaxBackoff = TimeSpan.FromSeconds(10) };
        Assert.That(options.BackoffBefore(attempt).TotalSeconds, Is.EqualTo(seconds).Within(1e-9));
    }

    [Test]
    public async Task StalledBody_FailsWithReadTimeoutWithinTheConfiguredTime()
    {
        var data = RandomBytes(50_000, 11);
        await using var server = new FetchTestServer(r => ServerResponse.File(r, data, stallAfter: 1000));
        using var downloader = new Downloader(Fast(attempts: 1, readTimeoutSeconds: 1));
        var clock = Stopwatch.StartNew();
        var e = Assert.ThrowsAsync<DownloadException>(() => downloader.DownloadAsync(server.Url("/f.bin"), Target(), null));
        clock.Stop();
        Assert.That(e!.Message, Does.Contain("read timeout").And.Contain("after 1000 bytes"));
        // 1 s configured; the bound is loose because CI machines are slow — the failure mode being excluded is hanging forever.
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
        Assert.That(File.Exists(Target()), Is.False);
        Assert.That(new FileInfo(Target() + ".part").Length, Is.EqualTo(1000), "the bytes received are kept for a later resume");
    }

    [Test]
    public async Task StalledBeforeHeaders_FailsWithReadTimeout()
    {
        await using var server = new FetchTestServer(_ => new ServerResponse { StallBeforeHeaders = true });
        using var downloader = new Downloader(Fast(attempts: 1, readTimeoutSeconds: 1));
        var clock = Stopwatch.StartNew();
        var e = Assert.ThrowsAsync<DownloadException>(() => downloader.DownloadAsync(server.Url("/f.bin"), Target(), null));
        Assert.That(e!.Message, Does.Contain("read timeout"));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
        Assert.That(_dir.GetFiles(), Is.Empty);
    }

    [Test]
    public async Task StallThenRecovery_ResumesOnTheNextTry()
    {
        var data = RandomBytes(40_000, 12);
        await using var server = new FetchTestServer(r =>
            r.Index == 0 ? ServerResponse.File(r, data, stallAfter: 8000) : ServerResponse.File(r, data));
        using var downloader = new Downloader(Fast(attempts: 2, readTimeoutSeconds: 1));
        await downloader.DownloadAsync(server.Url("/f.bin"), Target(), Sha256Of(data));
        Assert.That(server.Requests[1].Range, Is.EqualTo("bytes=8000-"));
        Assert.That(File.ReadAllBytes(Target()), Is.EqualTo(data));
    }

    /// <summary>Maps Google's hosts to the loopback server, as a test double for Drive.</summary>
    private static Func<Uri, Uri> ToLoopback(FetchTestServer server) => u =>
        u.Host.EndsWith("google.com", StringComparison.Ordinal)
            ? new UriBuilder(u) { Scheme = "http", Host = "127.0.0.1", Port = server.Port }.Uri
            : u;

    [Test]
    public async Task DriveConfirmForm_IsFollowedToTheRealFile()
    {
        var data = RandomBytes(120_000, 13);
        const string page = """
            <!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head><body>
            <p>Google Drive can't scan this file for viruses.</p>
            <form id="download-form" action="https://drive.usercontent.google.com/download" method="get">
              <input type="submit" id="uc-download-link" class="goog-inline-block jfk-button" value="Download anyway"/>
              <input type="hidden" name="id" value="FILEID123">
              <input type="hidden" name="export" value="download">
              <input type="hidden" name="confirm" value="t">
              <input type="hidden" name="uuid" value="0f1e2d3c-aaaa-bbbb">
            </form></body></html>
            """;
        FetchTestServer? self = null;
        await using var server = new FetchTestServer(r =>
            r.Path == "/download" && r.Query.Contains("confirm=t") && r.Query.Contains("uuid=0f1e2d3c-aaaa-bbbb") && r.Query.Contains("id=FILEID123")
                ? ServerResponse.File(r, data)
                : ServerResponse.Html(page));
        self = server;
        using var downloader = new Downloader(Fast() with { RewriteUrl = ToLoopback(server) });
        await downloader.DownloadAsync(new Uri("https://drive.google.com/uc?export=download&id=FILEID123"), Target("Processed_data_nii.zip"), Sha256Of(data));

        Assert.That(File.ReadAllBytes(Target("Processed_data_nii.zip")), Is.EqualTo(data));
        Assert.That(server.Requests, Has.Count.EqualTo(2));
        Assert.That(server.Requests[0].Path, Is.EqualTo("/uc"));
        Assert.That(server.Requests[1].Path, Is.EqualTo("/download"));
        Assert.That(_dir.GetFiles().Select(f => f.Name), Is.EquivalentTo(new[] { "Processed_data_nii.zip" }), "the HTML page was never written");
    }

    [Test]
    public async Task DriveWarningCookie_OlderVariant_IsFollowed()
    {
        var data = RandomBytes(30_000, 14);
        await using var server = new FetchTestServer(r =>
            r.Query.Contains("confirm=Zx9_q")
                ? ServerResponse.File(r, data)
                : ServerResponse.Html("<html><body>Google Drive - Virus scan warning</body></html>",
                    ("Set-Cookie", "download_warning_13058876669334088843_FILEID=Zx9_q; Domain=.drive.google.com; Path=/uc; Secure; HttpOnly")));
        using var downloader = new Downloader(Fast() with { RewriteUrl = ToLoopback(server) });
        await downloader.DownloadAsync(new Uri("https://drive.google.com/uc?export=download&id=FILEID"), Target(), Sha256Of(data));
        Assert.That(File.ReadAllBytes(Target()), Is.EqualTo(data));
        Assert.That(server.Requests[1].Query, Does.Contain("id=FILEID").And.Contain("confirm=Zx9_q"));
    }

    [Test]
    public async Task HtmlLandingPage_IsAClearErrorNotAFile()
    {
        await using var server = new FetchTestServer(_ => ServerResponse.Html("<html><body><h1>Welcome, please sign in</h1></body></html>"));
        using var downloader = new Downloader(Fast());
        var e = Assert.ThrowsAsync<DownloadException>(() => downloader.DownloadAsync(server.Url("/record/1"), Target("data.zip"), null));
        Assert.That(e!.Message, Does.Contain("HTML page").And.Contain("import"));
        Assert.That(_dir.GetFiles(), Is.Empty);
    }

    [Test]
    public async Task DriveQuotaPage_SaysSo()
    {
        await using var server = new FetchTestServer(_ => ServerResponse.Html(
            "<html><title>Google Drive - Quota exceeded</title><body>Too many users have viewed or downloaded this file recently.</body></html>"));
        using var downloader = new Downloader(Fast() with { RewriteUrl = ToLoopback(server) });
        var e = Assert.ThrowsAsync<DownloadException>(() =>
            downloader.DownloadAsync(new Uri("https://drive.google.com/uc?export=download&id=X"), Target("a.zip"), null));
        Assert.That(e!.Message, Does.Contain("quota"));
    }

    [Test]
    public async Task ExistingVerifiedFile_IsNotDownloadedAgain()
    {
        var data = RandomBytes(1000, 15);
        File.WriteAllBytes(Target(), data);
        await using var server = new FetchTestServer(r => ServerResponse.File(r, data));
        using var downloader = new Downloader(Fast());
        var result = await downloader.DownloadAsync(server.Url("/f.bin"), Target(), Sha256Of(data));
        Assert.That(result.AlreadyPresent, Is.True);
        Assert.That(server.Requests, Is.Empty);
    }

    [Test]
    public async Task LogProgress_PrintsBytesRateAndFinalLine()
    {
        var data = RandomBytes(64_000, 16);
        await using var server = new FetchTestServer(r => ServerResponse.File(r, data));
        var output = new StringWriter();
        using var downloader = new Downloader(Fast(), progress: new LogLineProgress(output, TimeSpan.Zero));
        await downloader.DownloadAsync(server.Url("/f.bin"), Target(), null);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[0], Does.StartWith("file.bin: ").And.Contain("of 62.5 KiB").And.Contain("/s, ETA"));
        Assert.That(lines[^1], Does.StartWith("file.bin: 62.5 KiB received"));
    }
}
