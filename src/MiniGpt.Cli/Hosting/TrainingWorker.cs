using MiniGpt.Training;
using Microsoft.Extensions.Hosting;

namespace MiniGpt.Cli.Hosting;

/// <summary>The exit code the host's run ends with; a BackgroundService that fails would otherwise exit 0.</summary>
public sealed class RunOutcome
{
    public int ExitCode { get; set; } = 1;
}

/// <summary>
/// Trains in the background of the generic host. Ctrl+C or SIGTERM cancels the token; the trainer then saves
/// `last` and returns, and the worker stops the application with exit code 0.
/// </summary>
public sealed class TrainingWorker(TrainConfig config, IHostApplicationLifetime lifetime, RunOutcome outcome) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() =>
    {
        try
        {
            var console = new TrainConsole(config);
            using var trainer = new Trainer(config, prepareProgress: console.PrepareProgress);
            console.Start(trainer);
            var result = trainer.Run(console, stoppingToken);
            console.Finish(result, trainer);
            outcome.ExitCode = 0;
        }
        catch (TrainingDivergedException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            outcome.ExitCode = 3;
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            outcome.ExitCode = 2;
        }
        catch (Exception e) when (Commands.CliErrors.IsUserError(e))
        {
            Console.Error.WriteLine($"error: {e.Message}");
            outcome.ExitCode = 1;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: training failed: {e}");
            outcome.ExitCode = 1;
        }
        finally
        {
            lifetime.StopApplication();
        }
    }, CancellationToken.None);
}
