using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace MiniGpt.Hub;

/// <summary>How far the download of one file has come.</summary>
/// <param name="Received">Bytes on disk, those of an earlier, resumed try included.</param>
public sealed record DownloadProgress(string File, long Received, long Total);

/// <summary>A model that cannot be had from the hub or the cache. <see cref="DataException.Path"/> is the URL or the cache folder.</summary>
public sealed class HubException(string path, string message, Exception? inner = null) : DataException(path, message, inner);

/// <summary>
/// Downloads files of a Hugging Face hub repository into the hub cache (<see cref="HubCache"/>) as huggingface_hub
/// does: a HEAD of <c>{endpoint}/{repo}/resolve/main/{file}</c>, not following redirects, gives the commit
/// (X-Repo-Commit), the etag (X-Linked-Etag, else ETag) and the size (X-Linked-Size, else Content-Length); the other
/// files are then asked for at that commit, so all come from one. A GET, following redirects, brings what the cache
/// lacks, resuming a partial download with a Range request. Each blob is checked before it counts as complete: its
/// size against the announced one and, for large files whose etag is their SHA-256, its hash.
/// </summary>
public static partial class HubDownloader
{
    const int MaxRedirects = 10;
    static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The snapshot folder holding <paramref name="files"/> complete and checked, downloading what the cache lacks.</summary>
    /// <param name="repo">owner/name.</param>
    /// <param name="files">Paths in the repository that must be there.</param>
    /// <param name="optionalFiles">Paths taken when the repository has them.</param>
    /// <param name="progress">Called from a pool thread, every 100 ms or so while a file downloads and once at its end.</param>
    /// <param name="handler">Sends the requests (tests, proxies); it must not follow redirects. Null: a default one.</param>
    /// <exception cref="HubException">The hub refused or failed, the download was cut or damaged, or the cache cannot be used.</exception>
    public static string Snapshot(string repo, IReadOnlyList<string> files, IReadOnlyList<string> optionalFiles, HubOptions options,
        IProgress<DownloadProgress>? progress = null, CancellationToken ct = default, HttpMessageHandler? handler = null)
        => SnapshotAsync(repo, files, optionalFiles, options, progress, ct, handler).GetAwaiter().GetResult();

    /// <inheritdoc cref="Snapshot"/>
    public static async Task<string> SnapshotAsync(string repo, IReadOnlyList<string> files, IReadOnlyList<string> optionalFiles, HubOptions options,
        IProgress<DownloadProgress>? progress = null, CancellationToken ct = default, HttpMessageHandler? handler = null)
    {
        if (files.Count == 0) throw new ArgumentException("no files asked for", nameof(files));
        if (!RepoName().IsMatch(repo)) throw new HubException(repo, $"'{repo}' is not the name of a hub repository (owner/name)");
        foreach (var f in files.Concat(optionalFiles))
            if (f.Length == 0 || Path.IsPathRooted(f) || f.Contains('\\') || f.Split('/').Any(s => s is "" or "." or ".."))
                throw new ArgumentException($"'{f}' is not a path inside a repository", nameof(files));
        var cache = new HubCache(options.CacheDir, repo);
        try
        {
            if (options.Offline)
            {
                if (cache.MissingFromSnapshot(files) is { Count: > 0 } missing)
                    throw new HubException(cache.Dir, $"{repo} is not in the hub cache {cache.Dir} (missing {string.Join(", ", missing)}), " +
                                                      $"and downloads are off (offline mode, HF_HUB_OFFLINE), so it cannot come from {RepoUrl(options.Endpoint, repo)}");
                return cache.SnapshotDir(cache.Commit()!);
            }
            using var client = new HttpClient(handler ?? new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = options.Timeout }, disposeHandler: handler is null)
            {
                Timeout = System.Threading.Timeout.InfiniteTimeSpan,
            };
            return await new Download(client, options, repo, cache, progress, ct).Run(files, optionalFiles);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The network's I/O errors are turned into HubExceptions where they happen: these are the file system's.
            throw new HubException(cache.CacheDir, $"cannot use the hub cache {cache.CacheDir}: {e.Message}", e);
        }
    }

    [GeneratedRegex(@"^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?/[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$")]
    private static partial Regex RepoName();

    static string RepoUrl(Uri endpoint, string repo) => endpoint.AbsoluteUri.TrimEnd('/') + "/" + repo;

    /// <summary>huggingface_hub's normalization: a weak etag's W/ and the quotes dropped.</summary>
    static string? NormalizeEtag(string? etag) => etag is null ? null : (etag.StartsWith("W/") ? etag[2..] : etag).Trim('"');

    static bool IsSha256(string etag) => etag.Length == 64 && etag.All(char.IsAsciiHexDigit);

    static readonly string UserAgent = $"MiniGpt/{typeof(HubDownloader).Assembly.GetName().Version?.ToString(3) ?? "0"} (.NET {Environment.Version})";

    /// <summary>What the hub says of one file.</summary>
    sealed record FileMeta(string File, Uri Url, string Commit, string Etag, long Size);

    /// <summary>The hub did not answer, or answered that it is in trouble (5xx): the cache may stand in for it.</summary>
    sealed class HubUnavailableException(Uri url, string reason, Exception? inner = null) : Exception(reason, inner)
    {
        public Uri Url { get; } = url;
    }

    /// <summary>One call's downloads.</summary>
    sealed class Download(HttpClient client, HubOptions options, string repo, HubCache cache, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        public async Task<string> Run(IReadOnlyList<string> files, IReadOnlyList<string> optionalFiles)
        {
            var metas = new List<FileMeta>();
            string? commit = null;
            try
            {
                foreach (var (file, optional) in files.Select(f => (f, false)).Concat(optionalFiles.Select(f => (f, true))))
                {
                    if (await Head(file, commit ?? "main", optional) is not { } meta) continue;
                    commit ??= meta.Commit;
                    metas.Add(meta);
                }
            }
            catch (HubUnavailableException e)
            {
                if (cache.MissingFromSnapshot(files) is { Count: > 0 } missing)
                    throw new HubException(e.Url.AbsoluteUri, $"cannot download {repo}: {e.Url} {e.Message}, and the hub cache {cache.Dir} does not hold it " +
                                                              $"(missing {string.Join(", ", missing)}); HF_ENDPOINT can name another hub", e.InnerException);
                return cache.SnapshotDir(cache.Commit()!);
            }
            foreach (var meta in metas)
            {
                await FetchBlob(meta);
                cache.Link(meta.Commit, meta.File, meta.Etag, meta.Size);
            }
            cache.SetRef("main", commit!);
            return cache.SnapshotDir(commit!);
        }

        Uri ResolveUrl(string revision, string file)
            => new($"{RepoUrl(options.Endpoint, repo)}/resolve/{revision}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}");

        /// <summary>The file's metadata; null for an optional file the repository lacks.</summary>
        async Task<FileMeta?> Head(string file, string revision, bool optional)
        {
            var url = ResolveUrl(revision, file);
            for (int hops = 0; ; hops++)
            {
                using var response = await Send(HttpMethod.Head, url, 0, reachable: false);
                // Relative redirects (a renamed repository) are followed, absolute ones (to the file store) are not:
                // the metadata is the hub's.
                if (IsRedirect(response) && hops < MaxRedirects && response.Headers.TryGetValues("Location", out var l) && !IsAbsolute(l.First()))
                {
                    url = new Uri(url, l.First());
                    continue;
                }
                if (response.StatusCode == HttpStatusCode.NotFound && optional) return null;
                if ((int)response.StatusCode >= 500) throw new HubUnavailableException(url, $"answered HTTP {Status(response)}");
                if (!response.IsSuccessStatusCode && !IsRedirect(response)) throw Failed(response, file, url);
                return Meta(response, file, url);
            }
        }

        FileMeta Meta(HttpResponseMessage response, string file, Uri url)
        {
            string? Header(string name) => response.Headers.TryGetValues(name, out var v) ? v.FirstOrDefault() : null;
            var commit = Header("X-Repo-Commit");
            var etag = NormalizeEtag(Header("X-Linked-Etag") ?? Header("ETag"));
            var size = long.TryParse(Header("X-Linked-Size"), out var linked) ? linked : response.Content.Headers.ContentLength;
            var lacking = new[] { ("X-Repo-Commit", commit is not null && HubCache.IsName(commit)), ("ETag", etag is not null && HubCache.IsName(etag)), ("size", size >= 0) }
                .Where(h => !h.Item2).Select(h => h.Item1).ToList();
            if (lacking.Count > 0)
                throw new HubException(url.AbsoluteUri, $"{url} did not answer like a Hugging Face hub (no usable {string.Join(", ", lacking)}); HF_ENDPOINT may name something else");
            return new FileMeta(file, ResolveUrl(commit!, file), commit!, etag!, size!.Value);
        }

        HubException Failed(HttpResponseMessage response, string file, Uri url) => (int)response.StatusCode switch
        {
            404 => new HubException(url.AbsoluteUri, $"{file} not found in {repo} ({url} answered HTTP {Status(response)})"),
            401 or 403 => new HubException(url.AbsoluteUri, $"{repo} is private, gated or does not exist: {url} answered HTTP {Status(response)} " +
                                                            "(downloads are anonymous, so only public models can be had)"),
            _ => new HubException(url.AbsoluteUri, $"{url} answered HTTP {Status(response)} for {file} of {repo}"),
        };

        static string Status(HttpResponseMessage r) => $"{(int)r.StatusCode} {r.ReasonPhrase}".TrimEnd();

        static bool IsRedirect(HttpResponseMessage r) => (int)r.StatusCode is 301 or 302 or 303 or 307 or 308;

        /// <summary>An absolute http(s) URL (not Unix's reading of "/path" as a file URI).</summary>
        static bool IsAbsolute(string location) => Uri.TryCreate(location, UriKind.Absolute, out var u) && u.Scheme is "http" or "https";

        /// <summary>A request that must answer (its headers) within the timeout.</summary>
        /// <param name="reachable">The hub answered before: failing now is an error, not a reason to use the cache.</param>
        async Task<HttpResponseMessage> Send(HttpMethod method, Uri url, long from, bool reachable)
        {
            using var request = new HttpRequestMessage(method, url);
            request.Headers.UserAgent.ParseAdd(UserAgent);
            request.Headers.AcceptEncoding.ParseAdd("identity");
            if (from > 0) request.Headers.Range = new RangeHeaderValue(from, null);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(options.Timeout);
            try { return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token); }
            catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
            {
                var reason = $"did not answer within {options.Timeout.TotalSeconds:0.###} s";
                throw reachable ? new HubException(url.AbsoluteUri, $"{url} {reason}", e) : new HubUnavailableException(url, reason, e);
            }
            catch (HttpRequestException e)
            {
                var reason = $"cannot be reached ({e.Message})";
                throw reachable ? new HubException(url.AbsoluteUri, $"{url} {reason}", e) : new HubUnavailableException(url, reason, e);
            }
        }

        /// <summary>Puts the file's blob into the cache, complete and checked, unless it is there already.</summary>
        async Task FetchBlob(FileMeta meta)
        {
            var blob = cache.BlobPath(meta.Etag);
            if (HubCache.IsComplete(blob, meta.Size)) return;
            Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
            using (await cache.LockBlobAsync(meta.Etag, ct))
            {
                if (HubCache.IsComplete(blob, meta.Size)) return;   // another process downloaded it meanwhile
                var incomplete = blob + HubCache.IncompleteSuffix;
                await DownloadTo(meta, incomplete);
                File.Move(incomplete, blob, overwrite: true);
            }
        }

        /// <summary>Downloads into <paramref name="incomplete"/>, resuming what it holds; returns once it is complete and checked.</summary>
        async Task DownloadTo(FileMeta meta, string incomplete)
        {
            var file = new FileStream(incomplete, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1 << 16);
            try
            {
                long have = file.Length <= meta.Size ? file.Length : 0;
                file.SetLength(have);
                using var sha = IsSha256(meta.Etag) ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
                if (have < meta.Size)
                {
                    using var response = await Get(meta, have);
                    if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
                        Discard(file, incomplete, $"{meta.Url} refused to resume {meta.File} of {repo} at byte {have} of {meta.Size} (HTTP {Status(response)}); " +
                                                  "the partial download was removed");
                    if (response.StatusCode != HttpStatusCode.PartialContent || response.Content.Headers.ContentRange?.From != have)
                        have = 0;   // the whole file came (a server that ignores ranges): start over
                    file.SetLength(have);
                    if (sha is not null) Hash(sha, file, have);
                    have = await Receive(response, meta, file, sha, have);
                }
                else if (sha is not null) Hash(sha, file, have);
                progress?.Report(new DownloadProgress(meta.File, have, meta.Size));
                if (have != meta.Size)
                    Discard(file, incomplete, $"{meta.File} of {repo}: the hub announced {meta.Size} bytes, but {(have > meta.Size ? "more" : have)} came from {meta.Url}; " +
                                              "the download was removed");
                if (sha is not null && Convert.ToHexStringLower(sha.GetHashAndReset()) is var actual && actual != meta.Etag.ToLowerInvariant())
                    Discard(file, incomplete, $"{meta.File} of {repo} arrived damaged: its SHA-256 is {actual}, the hub announced {meta.Etag} ({meta.Url}); the download was removed");
                file.Flush(flushToDisk: true);
            }
            finally { file.Dispose(); }
        }

        /// <summary>A GET following redirects; it answers 200, 206 or 416, or throws.</summary>
        async Task<HttpResponseMessage> Get(FileMeta meta, long from)
        {
            var url = meta.Url;
            for (int hops = 0; ; hops++)
            {
                var response = await Send(HttpMethod.Get, url, from, reachable: true);
                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.PartialContent || response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && from > 0)
                    return response;
                using (response)
                {
                    if (IsRedirect(response) && hops < MaxRedirects && response.Headers.TryGetValues("Location", out var l))
                        url = new Uri(url, l.First());
                    else
                        throw Failed(response, meta.File, url);
                }
            }
        }

        /// <summary>Appends the body to <paramref name="file"/> at <paramref name="have"/>, hashing it; returns the bytes then on disk.</summary>
        async Task<long> Receive(HttpResponseMessage response, FileMeta meta, FileStream file, IncrementalHash? sha, long have)
        {
            var buffer = new byte[1 << 20];
            var sinceReport = Stopwatch.StartNew();
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
            file.Position = have;
            await using var body = await Network(() => response.Content.ReadAsStreamAsync(ct));
            while (true)
            {
                stall.CancelAfter(options.Timeout);
                int n = await Network(async () => await body.ReadAsync(buffer, stall.Token));
                if (n == 0) return have;
                if (have + n > meta.Size) return have + n;   // more than announced: the size check rejects it
                file.Write(buffer, 0, n);
                sha?.AppendData(buffer, 0, n);
                have += n;
                if (sinceReport.Elapsed >= ProgressInterval)
                {
                    progress?.Report(new DownloadProgress(meta.File, have, meta.Size));
                    sinceReport.Restart();
                }
            }

            // Reading the body: a silence or a cut connection keeps what came for the next try.
            async Task<T> Network<T>(Func<Task<T>> read)
            {
                try { return await read(); }
                catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
                {
                    throw new HubException(meta.Url.AbsoluteUri, $"the download of {meta.File} of {repo} from {meta.Url} stalled for " +
                                                                 $"{options.Timeout.TotalSeconds:0.###} s at {have} of {meta.Size} bytes; the next try resumes it", e);
                }
                catch (Exception e) when (e is IOException or HttpRequestException)
                {
                    throw new HubException(meta.Url.AbsoluteUri, $"the connection was cut while downloading {meta.File} of {repo} from {meta.Url}, " +
                                                                 $"at {have} of {meta.Size} bytes; the next try resumes it", e);
                }
            }
        }

        static void Hash(IncrementalHash sha, FileStream file, long length)
        {
            var buffer = new byte[1 << 20];
            file.Position = 0;
            for (long left = length; left > 0;)
            {
                int n = file.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (n == 0) throw new IOException($"{file.Name} ended while being read");
                sha.AppendData(buffer, 0, n);
                left -= n;
            }
        }

        /// <summary>Removes a download that can never become complete, so that the next try starts clean, and fails.</summary>
        [DoesNotReturn]
        static void Discard(FileStream file, string path, string message)
        {
            file.Dispose();
            File.Delete(path);
            throw new HubException(path, message);
        }
    }
}
