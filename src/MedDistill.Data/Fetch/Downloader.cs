using System.Net;
using System.Net.Http.Headers;
using System.Text;
using MedDistill.Data.Manifest;

namespace MedDistill.Data.Fetch;

/// <summary>What <see cref="Downloader.DownloadAsync"/> did.</summary>
/// <param name="Checksum">Digest of the final file: of the expected kind when one was given, else sha256.</param>
/// <param name="AlreadyPresent">The final file existed and verified; nothing was transferred.</param>
/// <param name="Attempts">Requests made for the bytes (interstitial pages not counted).</param>
/// <param name="ResumedRequests">Requests that asked the server for a byte range to continue a partial file.</param>
public sealed record DownloadResult(string Path, long Bytes, Checksum Checksum, bool AlreadyPresent, int Attempts, int ResumedRequests);

/// <summary>
/// Downloads one URL to one file, safely:
/// the bytes go to <c>&lt;file&gt;.part</c>; after a broken connection or timeout the next try asks for the rest with an HTTP
/// <c>Range</c> header (a server that answers 200 instead of 206 gets a fresh start); tries are spaced by exponential backoff;
/// a stalled server fails after <see cref="FetchOptions.ReadTimeout"/>; the finished <c>.part</c> is hashed (streaming) and renamed
/// to the final name only when it verifies. On a checksum mismatch the <c>.part</c> is deleted — resuming a corrupt prefix would
/// only reproduce the mismatch — so neither a corrupt final file nor a poisoned partial remains.
/// Google Drive's confirmation page is detected and followed (<see cref="DriveConfirmPage"/>).
/// </summary>
public sealed class Downloader : IDisposable
{
    public const string PartSuffix = ".part";

    private readonly HttpClient _client;
    private readonly FetchOptions _options;
    private readonly IDownloadProgress _progress;
    private readonly TextWriter _log;

    /// <param name="handler">Transport; null for a <see cref="SocketsHttpHandler"/> with the options' connect timeout.</param>
    /// <param name="log">Retry and resume notices (stderr in the CLI).</param>
    public Downloader(FetchOptions? options = null, HttpMessageHandler? handler = null, IDownloadProgress? progress = null, TextWriter? log = null)
    {
        _options = options ?? new FetchOptions();
        handler ??= new SocketsHttpHandler
        {
            ConnectTimeout = _options.ConnectTimeout,
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 10,
            UseCookies = true,
            AutomaticDecompression = DecompressionMethods.None, // the bytes must arrive exactly as published
        };
        _client = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        _client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("MedDistill", "0.1"));
        _progress = progress ?? NullProgress.Instance;
        _log = log ?? TextWriter.Null;
    }

    public void Dispose() => _client.Dispose();

    /// <summary>
    /// Fetches <paramref name="url"/> into <paramref name="destination"/>, verified against <paramref name="expected"/> when given
    /// (and against <paramref name="expectedBytes"/>, when given, before hashing). A destination that already exists and verifies
    /// is kept as is.
    /// </summary>
    public async Task<DownloadResult> DownloadAsync(Uri url, string destination, Checksum? expected, long? expectedBytes = null,
        CancellationToken cancel = default)
    {
        destination = System.IO.Path.GetFullPath(destination);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(destination)!);
        var name = System.IO.Path.GetFileName(destination);
        var part = destination + PartSuffix;

        if (File.Exists(destination))
        {
            var existing = Checksum.OfFile(destination, expected?.Kind ?? HashKind.Sha256, cancel);
            if (expected is null || existing.Matches(expected))
                return new DownloadResult(destination, new FileInfo(destination).Length, existing, true, 0, 0);
            _log.WriteLine($"{name}: existing file does not match {expected}; downloading again");
            File.Delete(destination);
        }

        var state = new TransferState(_options.RewriteUrl?.Invoke(url) ?? url);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await TransferOnceAsync(state, part, name, cancel).ConfigureAwait(false);
                break;
            }
            catch (TransientDownloadException e)
            {
                if (attempt >= _options.MaxAttempts)
                    throw new DownloadException($"downloading {name} from {url} failed after {attempt} tries: {e.Message}" +
                        (File.Exists(part) ? $" ({new FileInfo(part).Length} bytes kept in {part}; run the command again to resume)" : ""), e);
                var wait = _options.BackoffBefore(attempt + 1);
                _log.WriteLine($"{name}: {e.Message}; try {attempt + 1} of {_options.MaxAttempts} in {wait.TotalSeconds:0.###} s");
                await Task.Delay(wait, cancel).ConfigureAwait(false);
            }
        }

        var size = new FileInfo(part).Length;
        if (expectedBytes is { } want && size != want)
        {
            File.Delete(part);
            throw new ChecksumMismatchException(name, $"{want} bytes", $"{size} bytes",
                $"Downloaded from {url}; the partial file was deleted, nothing was kept under {destination}.");
        }
        var actual = Checksum.OfFile(part, expected?.Kind ?? HashKind.Sha256, cancel);
        if (expected is not null && !actual.Matches(expected))
        {
            File.Delete(part);
            throw new ChecksumMismatchException(name, expected.ToString(), actual.ToString(),
                $"Downloaded from {url}; the partial file was deleted, nothing was kept under {destination}.");
        }
        File.Move(part, destination, overwrite: true);
        return new DownloadResult(destination, size, actual, false, state.Attempts, state.ResumedRequests);
    }

    private sealed class TransferState(Uri url)
    {
        public Uri Url = url;
        public int Attempts;
        public int ResumedRequests;
        public int ConfirmPagesFollowed;
    }

    /// <summary>One request for the (rest of the) bytes, following interstitial pages. Transient failures throw <see cref="TransientDownloadException"/>.</summary>
    private async Task TransferOnceAsync(TransferState state, string part, string name, CancellationToken cancel)
    {
        while (true)
        {
            long have = File.Exists(part) ? new FileInfo(part).Length : 0;
            using var request = new HttpRequestMessage(HttpMethod.Get, state.Url);
            if (have > 0)
            {
                request.Headers.Range = new RangeHeaderValue(have, null);
                state.ResumedRequests++;
            }
            state.Attempts++;

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(_options.ReadTimeout);
            HttpResponseMessage response;
            try
            {
                response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                throw new TransientDownloadException($"no response from {state.Url.Host} within {_options.ReadTimeout.TotalSeconds:0.###} s (read timeout)");
            }
            catch (HttpRequestException e)
            {
                throw new TransientDownloadException($"cannot reach {state.Url.Host}: {e.Message}", e);
            }

            using (response)
            {
                var status = (int)response.StatusCode;
                if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0)
                {
                    // The server has nothing after byte `have`: either the partial file is already complete, or it is longer than
                    // the file (stale). Content-Range "bytes */N" says which.
                    var full = response.Content.Headers.ContentRange?.Length;
                    if (full == have) return;
                    File.Delete(part);
                    throw new TransientDownloadException($"the partial file ({have} bytes) does not fit the server's file ({full?.ToString() ?? "unknown"} bytes); starting over");
                }
                if (status is 408 or 429 || status >= 500)
                    throw new TransientDownloadException($"HTTP {status} {response.ReasonPhrase} from {state.Url}");
                if (!response.IsSuccessStatusCode)
                    throw new DownloadException($"HTTP {status} {response.ReasonPhrase} for {state.Url}: the file is not available at this URL" +
                        (status is 401 or 403 ? " without signing in; download it by hand and import it with 'meddistill data import'" : ""));

                if (IsHtml(response) && !name.EndsWith(".html", StringComparison.OrdinalIgnoreCase))
                {
                    await FollowInterstitialAsync(state, response, name, timeout, cancel).ConfigureAwait(false);
                    continue;
                }

                bool append;
                if (response.StatusCode == HttpStatusCode.PartialContent)
                {
                    var range = response.Content.Headers.ContentRange;
                    if (range?.From is { } from && from != have)
                    {
                        File.Delete(part);
                        throw new TransientDownloadException($"the server resumed at byte {from}, not at {have}; starting over");
                    }
                    append = true;
                }
                else
                {
                    if (have > 0) _log.WriteLine($"{name}: the server ignored the Range request (HTTP {status}); restarting from byte 0");
                    append = false;
                    have = 0;
                }

                long? total = response.Content.Headers.ContentLength is { } length ? have + length : null;
                await CopyBodyAsync(response, part, append, have, total, name, timeout, cancel).ConfigureAwait(false);
                return;
            }
        }
    }

    private async Task CopyBodyAsync(HttpResponseMessage response, string part, bool append, long have, long? total, string name,
        CancellationTokenSource timeout, CancellationToken cancel)
    {
        _progress.Start(name, total, have);
        long onDisk = have;
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            await using var file = new FileStream(part, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            var buffer = new byte[1 << 16];
            while (true)
            {
                timeout.CancelAfter(_options.ReadTimeout); // the timeout is for silence, so it restarts with each chunk
                int n = await body.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
                if (n == 0) break;
                await file.WriteAsync(buffer.AsMemory(0, n), cancel).ConfigureAwait(false);
                onDisk += n;
                _progress.Report(onDisk);
            }
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new TransientDownloadException($"no data from {response.RequestMessage?.RequestUri?.Host} for {_options.ReadTimeout.TotalSeconds:0.###} s after {onDisk} bytes (read timeout)");
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw new TransientDownloadException($"connection lost after {onDisk} bytes: {e.Message}", e);
        }
        _progress.Finish(onDisk);
        if (total is { } expected && onDisk < expected)
            throw new TransientDownloadException($"connection closed after {onDisk} of {expected} bytes");
    }

    private async Task FollowInterstitialAsync(TransferState state, HttpResponseMessage response, string name,
        CancellationTokenSource timeout, CancellationToken cancel)
    {
        string html;
        try
        {
            html = await ReadLimitedAsync(response, _options.MaxInterstitialBytes, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new TransientDownloadException($"no data from {state.Url.Host} for {_options.ReadTimeout.TotalSeconds:0.###} s (read timeout)");
        }
        var pageUrl = response.RequestMessage?.RequestUri ?? state.Url;
        var cookies = response.Headers.TryGetValues("Set-Cookie", out var values) ? values : [];
        var next = DriveConfirmPage.FindDownloadUrl(html, pageUrl, cookies);
        if (next is null)
            throw new DownloadException(DriveConfirmPage.FindRefusal(html) is { } refusal
                ? $"{name}: {refusal}"
                : $"{name}: {pageUrl} answered with an HTML page, not the file (a landing or login page?); download it by hand and import it with 'meddistill data import'");
        if (++state.ConfirmPagesFollowed > _options.MaxConfirmPages)
            throw new DownloadException($"{name}: gave up after {_options.MaxConfirmPages} confirmation pages from {pageUrl.Host}");
        state.Url = _options.RewriteUrl?.Invoke(next) ?? next;
        _log.WriteLine($"{name}: following the host's download confirmation page");
    }

    private static bool IsHtml(HttpResponseMessage response) =>
        response.Content.Headers.ContentType?.MediaType is "text/html" or "application/xhtml+xml";

    private static async Task<string> ReadLimitedAsync(HttpResponseMessage response, int limit, CancellationToken token)
    {
        await using var body = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
        var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int n;
        while (buffer.Length < limit && (n = await body.ReadAsync(chunk, token).ConfigureAwait(false)) > 0)
            buffer.Write(chunk, 0, (int)Math.Min(n, limit - buffer.Length));
        var charset = response.Content.Headers.ContentType?.CharSet;
        var encoding = charset is null ? Encoding.UTF8 : Encoding.GetEncoding(charset.Trim('"'));
        return encoding.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
