using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MedDistill.Data.Tests;

/// <summary>A request as the test server received it.</summary>
public sealed record ServerRequest(int Index, string Method, string Target, IReadOnlyDictionary<string, string> Headers)
{
    public string? Range => Headers.GetValueOrDefault("range");
    public string Path => Target.Split('?')[0];
    public string Query => Target.Contains('?') ? Target[(Target.IndexOf('?') + 1)..] : "";
}

/// <summary>What the server sends back, and how it misbehaves.</summary>
public sealed class ServerResponse
{
    public int Status { get; init; } = 200;
    public string Reason { get; init; } = "OK";
    public Dictionary<string, string> Headers { get; init; } = new();
    public byte[] Body { get; init; } = [];
    /// <summary>Close the connection after this many body bytes (the advertised Content-Length stays the full one).</summary>
    public int? CutAfter { get; init; }
    /// <summary>Send this many body bytes, then go silent while keeping the connection open.</summary>
    public int? StallAfter { get; init; }
    /// <summary>Go silent before sending any header.</summary>
    public bool StallBeforeHeaders { get; init; }

    public static ServerResponse Html(string html, params (string, string)[] headers)
    {
        var h = headers.ToDictionary(p => p.Item1, p => p.Item2);
        h["Content-Type"] = "text/html; charset=utf-8";
        return new ServerResponse { Body = Encoding.UTF8.GetBytes(html), Headers = h };
    }

    public static ServerResponse NotFound() => new() { Status = 404, Reason = "Not Found", Body = "no such file"u8.ToArray() };

    /// <summary>The file, honouring a "bytes=N-" Range with 206 unless <paramref name="honourRange"/> is false.</summary>
    public static ServerResponse File(ServerRequest request, byte[] data, bool honourRange = true, int? cutAfter = null, int? stallAfter = null)
    {
        var headers = new Dictionary<string, string> { ["Content-Type"] = "application/octet-stream", ["Accept-Ranges"] = "bytes" };
        if (honourRange && request.Range is { } range && range.StartsWith("bytes=") && range.EndsWith('-'))
        {
            long from = long.Parse(range[6..^1]);
            if (from >= data.Length)
            {
                headers["Content-Range"] = $"bytes */{data.Length}";
                return new ServerResponse { Status = 416, Reason = "Range Not Satisfiable", Headers = headers };
            }
            headers["Content-Range"] = $"bytes {from}-{data.Length - 1}/{data.Length}";
            return new ServerResponse { Status = 206, Reason = "Partial Content", Headers = headers, Body = data[(int)from..], CutAfter = cutAfter, StallAfter = stallAfter };
        }
        return new ServerResponse { Headers = headers, Body = data, CutAfter = cutAfter, StallAfter = stallAfter };
    }
}

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 with a random port, one request per connection ("Connection: close"), answering from a
/// test-supplied function. Written on TcpListener so tests can cut a connection mid-body or stall it, which HttpListener cannot.
/// </summary>
public sealed class FetchTestServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<ServerRequest, ServerResponse> _respond;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<ServerRequest> _requests = [];

    public FetchTestServer(Func<ServerRequest, ServerResponse> respond)
    {
        _respond = respond;
        _listener.Start();
        _loop = Task.Run(AcceptLoop);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    public Uri Url(string pathAndQuery) => new($"http://127.0.0.1:{Port}{pathAndQuery}");

    public IReadOnlyList<ServerRequest> Requests
    {
        get { lock (_requests) return _requests.ToList(); }
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            var head = await ReadHead(stream);
            if (head is null) return;
            var lines = head.Split("\r\n");
            var first = lines[0].Split(' ');
            var headers = lines.Skip(1).Where(l => l.Contains(':'))
                .ToDictionary(l => l[..l.IndexOf(':')].Trim().ToLowerInvariant(), l => l[(l.IndexOf(':') + 1)..].Trim());
            ServerRequest request;
            lock (_requests)
            {
                request = new ServerRequest(_requests.Count, first[0], first[1], headers);
                _requests.Add(request);
            }
            var response = _respond(request);
            if (response.StallBeforeHeaders)
            {
                await Task.Delay(Timeout.Infinite, _stop.Token);
                return;
            }
            var text = new StringBuilder($"HTTP/1.1 {response.Status} {response.Reason}\r\n");
            foreach (var (k, v) in response.Headers) text.Append($"{k}: {v}\r\n");
            text.Append($"Content-Length: {response.Body.Length}\r\nConnection: close\r\n\r\n");
            await stream.WriteAsync(Encoding.ASCII.GetBytes(text.ToString()), _stop.Token);
            int send = Math.Min(response.Body.Length, response.CutAfter ?? response.StallAfter ?? int.MaxValue);
            await stream.WriteAsync(response.Body.AsMemory(0, send), _stop.Token);
            await stream.FlushAsync(_stop.Token);
            if (response.StallAfter is not null)
            {
                await Task.Delay(Timeout.Infinite, _stop.Token);
                return;
            }
            // A graceful close after a short body: the client has exactly CutAfter bytes and then sees the body end early.
            if (response.CutAfter is not null) client.Client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception) { /* the client went away or the server stopped */ }
    }

    private static async Task<string?> ReadHead(NetworkStream stream)
    {
        var buffer = new List<byte>();
        var one = new byte[1];
        while (buffer.Count < 65536)
        {
            if (await stream.ReadAsync(one) == 0) return null;
            buffer.Add(one[0]);
            int n = buffer.Count;
            if (n >= 4 && buffer[n - 4] == '\r' && buffer[n - 3] == '\n' && buffer[n - 2] == '\r' && buffer[n - 1] == '\n')
                return Encoding.ASCII.GetString(buffer.ToArray(), 0, n - 4);
        }
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _loop; } catch (Exception) { }
        _stop.Dispose();
    }
}
