using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace MiniGpt.Tests.TestSupport;

/// <summary>
/// A Hugging Face hub on 127.0.0.1 for one repository, speaking HTTP/1.1 as the real one does:
/// <c>/{repo}/resolve/{main or commit}/{file}</c> answers HEAD and GET; a small file with its git blob hash as
/// ETag, a large ("LFS") file with a 302 to <c>/cdn/{sha256}</c> carrying X-Linked-Etag (its SHA-256) and
/// X-Linked-Size, every answer with X-Repo-Commit. GETs honour <c>Range: bytes=N-</c> with 206. Knobs let a test
/// break what it needs, and every request is recorded.
/// </summary>
public sealed class LocalHubServer : IDisposable
{
    public const string Repo = "test-org/test-model";

    public sealed record Request(string Method, string Path, string? Range, string? UserAgent);

    sealed record RepoFile(byte[] Content, bool Lfs)
    {
        public string Etag { get; } = Lfs ? Convert.ToHexStringLower(SHA256.HashData(Content)) : GitBlobHash(Content);
    }

    readonly TcpListener listener = new(IPAddress.Loopback, 0);
    readonly CancellationTokenSource stop = new();
    readonly ConcurrentDictionary<string, RepoFile> files = new();
    readonly List<Task> connections = [];
    readonly Task accepting;

    /// <summary>The commit main points at.</summary>
    public string Commit { get; set; } = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";

    /// <summary>Every request, in the order they came.</summary>
    public ConcurrentQueue<Request> Requests { get; } = new();

    /// <summary>Status codes a file's HEAD and GET answer with instead (404 for a missing file, 401, 500...).</summary>
    public ConcurrentDictionary<string, int> StatusOf { get; } = new();

    /// <summary>Sizes the HEAD announces instead of the true one.</summary>
    public ConcurrentDictionary<string, long> AnnouncedSize { get; } = new();

    /// <summary>The next GET of a file sends this many bytes of its body and then closes the connection.</summary>
    public ConcurrentDictionary<string, long> CutOnceAfter { get; } = new();

    /// <summary>The next GET of a file sends this many bytes of its body and then falls silent for <see cref="Silence"/>.</summary>
    public ConcurrentDictionary<string, long> StallOnceAfter { get; } = new();

    /// <summary>Offsets of a byte that GETs of a file send inverted.</summary>
    public ConcurrentDictionary<string, long> FlipByteAt { get; } = new();

    /// <summary>A status the file store (/cdn/) answers every GET with instead, while the hub answers as usual.</summary>
    public int? StoreStatus { get; set; }

    /// <summary>Answer Range requests with the whole file and 200, as a server without range support.</summary>
    public bool IgnoreRange { get; set; }

    /// <summary>An earlier name of the repository: its URLs answer 307 with a relative Location to the current one.</summary>
    public const string OldName = "test-org/old-name";

    /// <summary>Every request is read and left unanswered for <see cref="Silence"/>, as by a hub that hangs.</summary>
    public bool Silent { get; set; }

    /// <summary>How long a silent server stays silent before it closes the connection.</summary>
    public static readonly TimeSpan Silence = TimeSpan.FromSeconds(10);

    /// <summary>A pause between the 16 KiB pieces of a body.</summary>
    public TimeSpan PieceDelay { get; set; }

    /// <summary>The repository it serves (test-org/test-model unless a test names a real one).</summary>
    public string Serves { get; init; } = Repo;

    public LocalHubServer()
    {
        listener.Start();
        accepting = Accept();
    }

    public Uri Endpoint => new($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}");

    public void Add(string name, byte[] content, bool lfs = false) => files[name] = new RepoFile(content, lfs);

    public string EtagOf(string name) => files[name].Etag;

    public IEnumerable<Request> Gets => Requests.Where(r => r.Method == "GET");

    /// <summary>The GETs that would bring a file's bytes (for an LFS file, those of the file store).</summary>
    public List<Request> GetsOf(string name) => Gets.Where(r => files[name].Lfs ? r.Path == "/cdn/" + files[name].Etag : r.Path.EndsWith("/" + name)).ToList();

    /// <summary>The standard repository: three small files and a 300 KB LFS file of pseudo-random bytes.</summary>
    public static LocalHubServer WithModel()
    {
        var server = new LocalHubServer();
        server.Add("config.json", Encoding.UTF8.GetBytes("{\"n_layer\": 2, \"n_embd\": 8}\n"));
        server.Add("vocab.json", Encoding.UTF8.GetBytes("{\"a\": 0, \"b\": 1}\n"));
        server.Add("merges.txt", Encoding.UTF8.GetBytes("#version: 0.2\na b\n"));
        server.Add("generation_config.json", Encoding.UTF8.GetBytes("{\"max_length\": 16}\n"));
        var weights = new byte[300_000];
        new Random(7).NextBytes(weights);
        server.Add("model.safetensors", weights, lfs: true);
        return server;
    }

    public byte[] Content(string name) => files[name].Content;

    /// <summary>git's object id of a blob: SHA-1 of "blob {size}\0" and the bytes.</summary>
    static string GitBlobHash(byte[] content)
        => Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {content.Length}\0"), .. content]));

    async Task Accept()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            lock (connections) connections.Add(Serve(client));
        }
    }

    async Task Serve(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            var (method, target, headers) = await ReadRequest(stream);
            headers.TryGetValue("range", out var range);
            headers.TryGetValue("user-agent", out var agent);
            Requests.Enqueue(new Request(method, target, range, agent));
            if (Silent) await Task.Delay(Silence, stop.Token);
            else await Answer(stream, method, target, range);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
    }

    static async Task<(string Method, string Target, Dictionary<string, string> Headers)> ReadRequest(NetworkStream stream)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (bytes.Count < 4 || !(bytes[^4] == '\r' && bytes[^3] == '\n' && bytes[^2] == '\r' && bytes[^1] == '\n'))
        {
            if (await stream.ReadAsync(one) == 0) throw new IOException("request ended early");
            bytes.Add(one[0]);
        }
        var lines = Encoding.ASCII.GetString([.. bytes]).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var parts = lines[0].Split(' ');
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        return (parts[0], parts[1], headers);
    }

    async Task Answer(NetworkStream stream, string method, string target, string? range)
    {
        var prefix = $"/{Serves}/resolve/";
        if (target.StartsWith($"/{OldName}/"))
        {
            await Head(stream, 307, [("Location", $"/{Serves}/{target[(OldName.Length + 2)..]}")], 0);
            return;
        }
        if (target.StartsWith("/cdn/") && files.FirstOrDefault(f => f.Value.Lfs && "/cdn/" + f.Value.Etag == target) is { Key: { } lfsName } lfs)
        {
            if (StoreStatus is { } status) await Head(stream, status, [], 0);
            else await Body(stream, method, lfsName, lfs.Value, range, []);
            return;
        }
        if (!target.StartsWith(prefix) || target[prefix.Length..].Split('/', 2) is not [var revision, var escaped])
        {
            await Head(stream, 404, [("X-Error-Code", "RepoNotFound")], 0);
            return;
        }
        var name = Uri.UnescapeDataString(escaped);
        var repoHeaders = new List<(string, string)> { ("X-Repo-Commit", Commit) };
        if (revision != "main" && revision != Commit)
            await Head(stream, 404, [("X-Error-Code", "RevisionNotFound")], 0);
        else if (StatusOf.TryGetValue(name, out var status))
            await Head(stream, status, repoHeaders, 0);
        else if (!files.TryGetValue(name, out var file))
            await Head(stream, 404, [.. repoHeaders, ("X-Error-Code", "EntryNotFound")], 0);
        else
        {
            var size = AnnouncedSize.TryGetValue(name, out var announced) ? announced : file.Content.Length;
            if (file.Lfs)
                await Head(stream, 302, [.. repoHeaders, ("X-Linked-Etag", $"\"{file.Etag}\""), ("X-Linked-Size", size.ToString()),
                    ("ETag", "W/\"not-the-blob-etag\""), ("Location", $"{Endpoint.AbsoluteUri}cdn/{file.Etag}")], 0);
            else if (method == "HEAD")
                await Head(stream, 200, [.. repoHeaders, ("ETag", $"\"{file.Etag}\"")], size);
            else
                await Body(stream, method, name, file, range, [.. repoHeaders, ("ETag", $"\"{file.Etag}\"")]);
        }
    }

    static async Task Head(NetworkStream stream, int status, IEnumerable<(string Name, string Value)> headers, long contentLength)
    {
        var text = new StringBuilder($"HTTP/1.1 {status} {Reason(status)}\r\n");
        foreach (var (n, v) in headers) text.Append($"{n}: {v}\r\n");
        text.Append($"Content-Length: {contentLength}\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(text.ToString()));
    }

    static string Reason(int status) => status switch
    {
        200 => "OK", 206 => "Partial Content", 302 => "Found", 307 => "Temporary Redirect", 401 => "Unauthorized", 403 => "Forbidden",
        404 => "Not Found", 416 => "Range Not Satisfiable", 500 => "Internal Server Error", 502 => "Bad Gateway", _ => "Status",
    };

    async Task Body(NetworkStream stream, string method, string name, RepoFile file, string? range, List<(string, string)> headers)
    {
        var content = (byte[])file.Content.Clone();
        if (FlipByteAt.TryGetValue(name, out var flip)) content[flip] ^= 0xFF;
        long from = 0;
        if (range is not null && !IgnoreRange && range.StartsWith("bytes=") && range.EndsWith('-'))
        {
            from = long.Parse(range["bytes=".Length..^1]);
            if (from >= content.Length)
            {
                await Head(stream, 416, [.. headers, ("Content-Range", $"bytes */{content.Length}")], 0);
                return;
            }
            headers.Add(("Content-Range", $"bytes {from}-{content.Length - 1}/{content.Length}"));
        }
        await Head(stream, from > 0 ? 206 : 200, headers, content.Length - from);
        if (method == "HEAD") return;
        long end = content.Length;
        bool cut = CutOnceAfter.TryRemove(name, out var cutAt), stall = StallOnceAfter.TryRemove(name, out var stallAt);
        if (cut) end = Math.Min(end, from + cutAt);
        if (stall) end = Math.Min(end, from + stallAt);
        for (long at = from; at < end; at += 16 * 1024)
        {
            await stream.WriteAsync(content.AsMemory((int)at, (int)Math.Min(16 * 1024, end - at)), stop.Token);
            if (PieceDelay > TimeSpan.Zero) await Task.Delay(PieceDelay, stop.Token);
        }
        await stream.FlushAsync();
        if (stall) await Task.Delay(Silence, stop.Token);
    }

    /// <summary>Stops serving: the port then refuses connections. Disposing again does nothing.</summary>
    public void Dispose()
    {
        if (stop.IsCancellationRequested) return;
        stop.Cancel();
        listener.Stop();
        Task[] open;
        lock (connections) open = [.. connections];
        try { Task.WaitAll([accepting, .. open], TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }
}
