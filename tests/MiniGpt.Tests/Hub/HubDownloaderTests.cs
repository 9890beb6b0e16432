using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using MiniGpt.Hub;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.Hub;

/// <summary>Each test has its own cache folder and its own hub, serving <see cref="LocalHubServer.WithModel"/>.</summary>
public sealed class HubDownloaderTests : IDisposable
{
    readonly TempDir dir = new();
    readonly LocalHubServer server = LocalHubServer.WithModel();

    public void Dispose()
    {
        server.Dispose();
        dir.Dispose();
    }

    const string Repo = LocalHubServer.Repo;
    const string Weights = "model.safetensors";
    static readonly IReadOnlyList<string> Required = PretrainedModels.RequiredFiles;
    static readonly IReadOnlyList<string> Optional = PretrainedModels.OptionalFiles;

    HubOptions Options(Uri endpoint, bool offline = false, double timeoutSeconds = 5)
        => new(endpoint, Path.Combine(dir.Path, "hub"), offline) { Timeout = TimeSpan.FromSeconds(timeoutSeconds) };

    string Fetch(bool offline = false, IProgress<DownloadProgress>? progress = null)
        => HubDownloader.Snapshot(Repo, Required, Optional, Options(server.Endpoint, offline), progress);

    string RepoDir => Path.Combine(dir.Path, "hub", "models--test-org--test-model");
    string Blob(string file) => Path.Combine(RepoDir, "blobs", server.EtagOf(file));
    string Incomplete(string file) => Blob(file) + ".incomplete";
    string SnapshotFile(string file) => Path.Combine(RepoDir, "snapshots", server.Commit, file);

    /// <summary>The snapshot holds every file of the repository, byte for byte.</summary>
    void AssertSameFiles(string snapshot, IEnumerable<string> files)
    {
        foreach (var f in files) Assert.Equal(server.Content(f), File.ReadAllBytes(Path.Combine(snapshot, f)));
    }

    /// <summary>Neither the blob nor its snapshot entry exists, and no partial download is left to resume.</summary>
    void AssertNothingOf(string file)
    {
        Assert.False(File.Exists(Blob(file)));
        Assert.False(File.Exists(Incomplete(file)));
        Assert.False(File.Exists(SnapshotFile(file)));
    }

    static int ClosedPort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    [Fact]
    public void FullDownload_IsByteIdentical_InHuggingFaceHubsCacheLayout()
    {
        var snapshot = Fetch();

        Assert.Equal(Path.Combine(RepoDir, "snapshots", server.Commit), snapshot);
        AssertSameFiles(snapshot, [.. Required, .. Optional]);
        // Blobs named by the hub's etag: the LFS file's SHA-256 (not the redirect's own ETag), the git blob hash of the others.
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(server.Content(Weights))), server.EtagOf(Weights));
        Assert.Equal(Required.Concat(Optional).Select(server.EtagOf).Order(), Directory.GetFiles(Path.Combine(RepoDir, "blobs")).Select(Path.GetFileName).Order());
        foreach (var f in Required.Concat(Optional))
        {
            Assert.Equal($"../../blobs/{server.EtagOf(f)}", new FileInfo(Path.Combine(snapshot, f)).LinkTarget);
            Assert.Equal(server.Content(f), File.ReadAllBytes(Blob(f)));
        }
        Assert.Equal(server.Commit, File.ReadAllText(Path.Combine(RepoDir, "refs", "main")));
        // Each file's bytes came once; all but the first HEAD asked for the commit the first one named.
        Assert.All(Required.Concat(Optional), f => Assert.Single(server.GetsOf(f)));
        Assert.All(server.Requests.Where(r => r.Path.Contains("/resolve/")).Skip(1), r => Assert.Contains($"/resolve/{server.Commit}/", r.Path));
        Assert.All(server.Requests, r => Assert.StartsWith("MiniGpt/", r.UserAgent));
    }

    [Fact]
    public void SecondCall_UsesTheCache_WithoutAnyGet()
    {
        var first = Fetch();
        int gets = server.Gets.Count();
        Assert.Equal(first, Fetch());
        Assert.Equal(gets, server.Gets.Count());
        AssertSameFiles(first, Required);
    }

    [Fact]
    public void CutConnection_KeepsThePartialFile_AndTheNextCallResumesWithARange()
    {
        server.CutOnceAfter[Weights] = 100_000;
        var ex = Assert.Throws<HubException>(() => Fetch());
        Assert.Contains($"the connection was cut while downloading {Weights} of {Repo}", ex.Message);
        Assert.Contains("at 100000 of 300000 bytes; the next try resumes it", ex.Message);
        Assert.Equal(server.Content(Weights)[..100_000], File.ReadAllBytes(Incomplete(Weights)));
        Assert.False(File.Exists(Blob(Weights)));
        Assert.False(File.Exists(SnapshotFile(Weights)));

        var snapshot = Fetch();
        Assert.Equal("bytes=100000-", server.GetsOf(Weights)[^1].Range);
        AssertSameFiles(snapshot, [.. Required, .. Optional]);
        Assert.False(File.Exists(Incomplete(Weights)));
    }

    [Fact]
    public void AServerThatIgnoresTheRange_IsDownloadedFromTheStart()
    {
        server.CutOnceAfter[Weights] = 100_000;
        Assert.Throws<HubException>(() => Fetch());
        server.IgnoreRange = true;
        var snapshot = Fetch();
        Assert.Equal("bytes=100000-", server.GetsOf(Weights)[^1].Range);
        AssertSameFiles(snapshot, [Weights]);
    }

    [Fact]
    public void StalledDownload_TimesOut_KeepingItsPart_AndTheNextCallResumes()
    {
        server.StallOnceAfter[Weights] = 50_000;
        // The timeout is every request's, the HEADs' too: long enough for them on a busy machine, short for a test.
        var options = Options(server.Endpoint, timeoutSeconds: 2);
        var ex = Assert.Throws<HubException>(() => HubDownloader.Snapshot(Repo, Required, Optional, options));
        Assert.Contains($"the download of {Weights} of {Repo} from {server.Endpoint}{Repo}/resolve/{server.Commit}/{Weights} stalled for 2 s at 50000 of 300000 bytes", ex.Message);
        Assert.Equal(50_000, new FileInfo(Incomplete(Weights)).Length);

        var snapshot = Fetch();   // the usual timeout: half a second is too short for a whole download on a busy machine
        Assert.Equal("bytes=50000-", server.GetsOf(Weights)[^1].Range);
        AssertSameFiles(snapshot, [Weights]);
    }

    [Theory]
    [InlineData(Weights, 300_001, "300001 bytes, but 300000 came")]
    [InlineData(Weights, 299_999, "299999 bytes, but more came")]
    [InlineData("vocab.json", 3, "3 bytes, but more came")]
    public void AWrongAnnouncedSize_IsAnError_AndNothingCountsAsComplete(string file, long announced, string says)
    {
        server.AnnouncedSize[file] = announced;
        var ex = Assert.Throws<HubException>(() => Fetch());
        Assert.Equal($"{file} of {Repo}: the hub announced {says} from {server.Endpoint}{Repo}/resolve/{server.Commit}/{file}; the download was removed", ex.Message);
        AssertNothingOf(file);
        Assert.False(File.Exists(Path.Combine(RepoDir, "refs", "main")));

        server.AnnouncedSize.Clear();
        AssertSameFiles(Fetch(), [file]);
    }

    [Fact]
    public void ADamagedByte_IsAHashError_NamingTheFile_AndTheRetryStartsClean()
    {
        server.FlipByteAt[Weights] = 123_456;
        var ex = Assert.Throws<HubException>(() => Fetch());
        Assert.StartsWith($"{Weights} of {Repo} arrived damaged: its SHA-256 is ", ex.Message);
        Assert.Contains($"the hub announced {server.EtagOf(Weights)}", ex.Message);
        AssertNothingOf(Weights);

        server.FlipByteAt.Clear();
        var snapshot = Fetch();
        Assert.Null(server.GetsOf(Weights)[^1].Range);
        AssertSameFiles(snapshot, [Weights]);
    }

    [Fact]
    public void AMissingRequiredFile_IsAnError_NamingFileAndRepository_BeforeAnyDownload()
    {
        server.StatusOf["vocab.json"] = 404;
        var ex = Assert.Throws<HubException>(() => Fetch());
        var url = $"{server.Endpoint}{Repo}/resolve/{server.Commit}/vocab.json";
        Assert.Equal((url, $"vocab.json not found in {Repo} ({url} answered HTTP 404 Not Found)"), (ex.Path, ex.Message));
        Assert.Empty(server.Gets);
    }

    [Fact]
    public void AMissingOptionalFile_IsLeftOut()
    {
        server.StatusOf["generation_config.json"] = 404;
        var snapshot = Fetch();
        AssertSameFiles(snapshot, Required);
        Assert.False(File.Exists(Path.Combine(snapshot, "generation_config.json")));
    }

    [Theory]
    [InlineData(401, "401 Unauthorized")]
    [InlineData(403, "403 Forbidden")]
    public void APrivateOrGatedModel_IsAnError_SayingSo(int status, string says)
    {
        server.StatusOf["config.json"] = status;
        var ex = Assert.Throws<HubException>(() => Fetch());
        Assert.Equal($"{Repo} is private, gated or does not exist: {server.Endpoint}{Repo}/resolve/main/config.json answered HTTP {says} " +
                     "(downloads are anonymous, so only public models can be had)", ex.Message);
    }

    [Fact]
    public void AServerError_IsAnError_WithItsStatus_UnlessTheCacheHoldsTheModel()
    {
        server.StatusOf["config.json"] = 500;
        var ex = Assert.Throws<HubException>(() => Fetch());
        Assert.Equal($"cannot download {Repo}: {server.Endpoint}{Repo}/resolve/main/config.json answered HTTP 500 Internal Server Error, " +
                     $"and the hub cache {RepoDir} does not hold it (missing {string.Join(", ", Required)}); HF_ENDPOINT can name another hub", ex.Message);

        server.StatusOf.Clear();
        var snapshot = Fetch();
        server.StatusOf["config.json"] = 500;
        Assert.Equal(snapshot, Fetch());
    }

    [Fact]
    public void AFailingFileStore_IsAnError_WithItsStatus()
    {
        server.StoreStatus = 502;
        var ex = Assert.Throws<HubException>(() => Fetch());
        Assert.Equal($"{server.Endpoint}cdn/{server.EtagOf(Weights)} answered HTTP 502 Bad Gateway for {Weights} of {Repo}", ex.Message);
        Assert.False(File.Exists(SnapshotFile(Weights)));
    }

    [Fact]
    public void APartialDownloadTheHubWillNotResume_IsRemoved()
    {
        // A partial file as long as the whole file, while the hub announces one byte more: it answers the Range with 416.
        Directory.CreateDirectory(Path.GetDirectoryName(Incomplete(Weights))!);
        File.WriteAllBytes(Incomplete(Weights), server.Content(Weights));
        server.AnnouncedSize[Weights] = 300_001;
        var ex = Assert.Throws<HubException>(() => Fetch());
        Assert.Equal($"{server.Endpoint}{Repo}/resolve/{server.Commit}/{Weights} refused to resume {Weights} of {Repo} at byte 300000 of 300001 " +
                     "(HTTP 416 Range Not Satisfiable); the partial download was removed", ex.Message);
        AssertNothingOf(Weights);
    }

    [Fact]
    public void NoNetwork_IsOneClearError_NamingModelUrlAndCache()
    {
        var endpoint = new Uri($"http://127.0.0.1:{ClosedPort()}");
        var ex = Assert.Throws<HubException>(() => HubDownloader.Snapshot(Repo, Required, Optional, Options(endpoint)));
        Assert.StartsWith($"cannot download {Repo}: {endpoint}{Repo}/resolve/main/config.json cannot be reached (", ex.Message);
        Assert.EndsWith($"), and the hub cache {RepoDir} does not hold it (missing {string.Join(", ", Required)}); HF_ENDPOINT can name another hub", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void AHubThatDoesNotAnswer_TimesOut_AndTheCacheStandsIn()
    {
        var options = Options(server.Endpoint, timeoutSeconds: 0.5);
        server.Silent = true;
        var ex = Assert.Throws<HubException>(() => HubDownloader.Snapshot(Repo, Required, Optional, options));
        Assert.Equal($"cannot download {Repo}: {server.Endpoint}{Repo}/resolve/main/config.json did not answer within 0.5 s, " +
                     $"and the hub cache {RepoDir} does not hold it (missing {string.Join(", ", Required)}); HF_ENDPOINT can name another hub", ex.Message);

        server.Silent = false;
        var snapshot = Fetch();   // the usual timeout: half a second is too short for a whole download on a busy machine
        server.Silent = true;
        Assert.Equal(snapshot, HubDownloader.Snapshot(Repo, Required, Optional, options));
    }

    [Fact]
    public void ACompleteCache_IsUsed_OfflineOrWhenTheHubIsUnreachable()
    {
        var snapshot = Fetch();
        int requests = server.Requests.Count;
        Assert.Equal(snapshot, Fetch(offline: true));
        Assert.Equal(requests, server.Requests.Count);
        server.Dispose();   // the hub goes away
        Assert.Equal(snapshot, Fetch());
        Assert.Equal(snapshot, HubDownloader.Snapshot(Repo, Required, Optional, Options(new Uri($"http://127.0.0.1:{ClosedPort()}"))));
    }

    [Fact]
    public void Offline_WithoutTheModelInTheCache_IsAnError_AskingNothing()
    {
        var ex = Assert.Throws<HubException>(() => Fetch(offline: true));
        Assert.Equal((RepoDir, $"{Repo} is not in the hub cache {RepoDir} (missing {string.Join(", ", Required)}), and downloads are off " +
                                    $"(offline mode, HF_HUB_OFFLINE), so it cannot come from {server.Endpoint}{Repo}"), (ex.Path, ex.Message));
        Assert.Empty(server.Requests);
    }

    [Fact]
    public void ARefOfNoBytes_IsNoCommit_Unopened()
    {
        // A FIFO's open waited for a writer for ever; a link to /dev/zero was read until memory ran out.
        Fetch();
        var main = Path.Combine(RepoDir, "refs", "main");
        File.Delete(main);
        Fifo.Make(main);
        var ex = Assert.Throws<HubException>(() => Fifo.Within(main, () => Fetch(offline: true)));
        Assert.StartsWith($"{Repo} is not in the hub cache {RepoDir} (missing {string.Join(", ", Required)})", ex.Message);
    }

    [Fact]
    public void Offline_WithAnIncompleteCache_IsAnError_NamingWhatIsMissing()
    {
        HubDownloader.Snapshot(Repo, ["config.json"], [], Options(server.Endpoint));
        int requests = server.Requests.Count;
        var ex = Assert.Throws<HubException>(() => Fetch(offline: true));
        Assert.Equal($"{Repo} is not in the hub cache {RepoDir} (missing model.safetensors, vocab.json, merges.txt), and downloads are off " +
                     $"(offline mode, HF_HUB_OFFLINE), so it cannot come from {server.Endpoint}{Repo}", ex.Message);
        Assert.Equal(requests, server.Requests.Count);
    }

    [Fact]
    public void ACacheFilledByPython_IsUsed_AndCompleted()
    {
        // What huggingface_hub leaves after downloading two of the files.
        var snapshotDir = Path.Combine(RepoDir, "snapshots", server.Commit);
        Directory.CreateDirectory(snapshotDir);
        Directory.CreateDirectory(Path.Combine(RepoDir, "blobs"));
        Directory.CreateDirectory(Path.Combine(RepoDir, "refs"));
        foreach (var f in new[] { "config.json", Weights })
        {
            File.WriteAllBytes(Blob(f), server.Content(f));
            File.CreateSymbolicLink(Path.Combine(snapshotDir, f), $"../../blobs/{server.EtagOf(f)}");
        }
        File.WriteAllText(Path.Combine(RepoDir, "refs", "main"), server.Commit);

        var snapshot = Fetch();
        Assert.Equal(snapshotDir, snapshot);
        Assert.Equal(["generation_config.json", "merges.txt", "vocab.json"], server.Gets.Select(r => Path.GetFileName(r.Path)).Order());
        AssertSameFiles(snapshot, [.. Required, .. Optional]);
    }

    [Fact]
    public void ARenamedRepository_IsFollowed_AndCachedUnderTheNameAskedFor()
    {
        var snapshot = HubDownloader.Snapshot(LocalHubServer.OldName, Required, Optional, Options(server.Endpoint));
        Assert.Equal(Path.Combine(dir.Path, "hub", "models--test-org--old-name", "snapshots", server.Commit), snapshot);
        AssertSameFiles(snapshot, Required);
    }

    [Fact]
    public void AnUpdatedRepository_GetsANewSnapshot_SharingTheUnchangedBlobs()
    {
        var old = Fetch();
        server.Commit = "ffeeddccbbaa99887766554433221100ffeeddcc";
        server.Add("config.json", "{\"n_layer\": 3}\n"u8.ToArray());
        int gets = server.Gets.Count();

        var snapshot = Fetch();
        Assert.Equal(Path.Combine(RepoDir, "snapshots", server.Commit), snapshot);
        Assert.Equal(["config.json"], server.Gets.Skip(gets).Select(r => Path.GetFileName(r.Path)));
        AssertSameFiles(snapshot, [.. Required, .. Optional]);
        Assert.Equal(server.Commit, File.ReadAllText(Path.Combine(RepoDir, "refs", "main")));
        Assert.True(File.Exists(Path.Combine(old, "config.json")));
        Assert.Equal(new FileInfo(Path.Combine(old, Weights)).LinkTarget, new FileInfo(Path.Combine(snapshot, Weights)).LinkTarget);
    }

    [Fact]
    public async Task ABlobLockedByAnotherDownloader_IsWaitedFor_AndWhatItDownloadedIsUsed()
    {
        var lockPath = Path.Combine(dir.Path, "hub", ".locks", "models--test-org--test-model", server.EtagOf(Weights) + ".lock");
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        Task<string> download;
        using (new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            download = Task.Run(() => Fetch());
            await Task.Delay(1000);
            Assert.False(download.IsCompleted);
            Assert.Empty(server.GetsOf(Weights));
            // The other downloader finishes the blob, then lets go (on a busy machine, before this one made the folder).
            Directory.CreateDirectory(Path.GetDirectoryName(Blob(Weights))!);
            File.WriteAllBytes(Blob(Weights), server.Content(Weights));
        }
        var snapshot = await download.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Empty(server.GetsOf(Weights));
        AssertSameFiles(snapshot, [.. Required, .. Optional]);
    }

    [Fact]
    public async Task TwoDownloadsAtOnce_BothSucceed_FetchingEachFileOnce()
    {
        server.PieceDelay = TimeSpan.FromMilliseconds(20);
        var both = await Task.WhenAll(Task.Run(() => Fetch()), Task.Run(() => Fetch())).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(both[0], both[1]);
        AssertSameFiles(both[0], [.. Required, .. Optional]);
        Assert.Single(server.GetsOf(Weights));
    }

    [Fact]
    public void AnUnwritableCache_IsAClearError_NamingIt()
    {
        var cacheDir = Path.Combine(dir.File("a-file", "not a folder"), "hub");
        var ex = Assert.Throws<HubException>(() => HubDownloader.Snapshot(Repo, Required, Optional, new HubOptions(server.Endpoint, cacheDir)));
        Assert.Equal(cacheDir, ex.Path);
        Assert.StartsWith($"cannot use the hub cache {cacheDir}: ", ex.Message);
    }

    [Fact]
    public void Progress_IsReportedNowAndThen_EndingAtTheTotal()
    {
        server.PieceDelay = TimeSpan.FromMilliseconds(20);   // 19 pieces: about 400 ms
        var reports = new Reports();
        Fetch(progress: reports);
        var weights = reports.All.Where(r => r.Value.File == Weights).ToList();
        Assert.Equal(new DownloadProgress(Weights, 300_000, 300_000), weights[^1].Value);
        // 100 ms or more between reports, and one at the end, however long a busy machine makes the download take.
        Assert.True(weights.Count >= 2, $"{weights.Count} report(s)");
        for (int i = 1; i < weights.Count - 1; i++)
            Assert.True(weights[i].At - weights[i - 1].At >= TimeSpan.FromMilliseconds(90), $"reports {i - 1} and {i} {(weights[i].At - weights[i - 1].At).TotalMilliseconds} ms apart");
        Assert.Equal(weights.Select(r => r.Value.Received).Order(), weights.Select(r => r.Value.Received));
        Assert.Equal(new DownloadProgress("config.json", server.Content("config.json").Length, server.Content("config.json").Length), reports.All.First().Value);
    }

    sealed class Reports : IProgress<DownloadProgress>
    {
        readonly System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
        public List<(DownloadProgress Value, TimeSpan At)> All { get; } = [];
        public void Report(DownloadProgress value) { lock (All) All.Add((value, clock.Elapsed)); }
    }

    [Fact]
    public void ARepositoryNameThatIsNone_IsRejected()
    {
        var ex = Assert.Throws<HubException>(() => HubDownloader.Snapshot("../etc", Required, Optional, Options(new Uri("http://127.0.0.1:1"))));
        Assert.Equal("'../etc' is not the name of a hub repository (owner/name)", ex.Message);
    }
}
