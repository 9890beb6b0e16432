using MiniGpt.Cli.Commands;
using MiniGpt.Config;
using MiniGpt.Training;
using Microsoft.Extensions.Hosting;

namespace MiniGpt.Cli.Hosting;

/// <summary>What `minigpt train` asked for: the config, whether to start over in an out_dir that holds a run, and whether to resume on other data.</summary>
public sealed record TrainRequest(TrainConfig Config, bool Overwrite, bool AcceptOtherData);

/// <summary>The exit code the host's run ends with; a BackgroundService that fails would otherwise exit 0.</summary>
public sealed class RunOutcome
{
    public int ExitCode { get; set; } = (int)Cli.ExitCode.Failed;
}

/// <summary>
/// Trains in the background of the generic host. Ctrl+C or SIGTERM cancels the token; the trainer then saves
/// `last` and returns, and the worker stops the application with exit code 0.
/// </summary>
public sealed class TrainingWorker(TrainRequest request, IHostApplicationLifetime lifetime, RunOutcome outcome) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() =>
    {
        try
        {
            outcome.ExitCode = CliErrors.Run(() =>
            {
                using var console = new TrainConsole(request.Config);
                using var downloads = new Downloads();
                using var trainer = new Trainer(request.Config, prepareProgress: console.PrepareProgress, overwrite: request.Overwrite, acceptOtherData: request.AcceptOtherData,
                    hub: Downloads.OptionsFor(request.Config.InitFrom), downloads: downloads);
                console.Start(trainer);
                console.Finish(trainer.Run(console, stoppingToken));
                return (int)ExitCode.Ok;
            }, []);   // the train command's overrides are config keys, spelled as such
        }
        finally
        {
            lifetime.StopApplication();
        }
    }, CancellationToken.None);
}
