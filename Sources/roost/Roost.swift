import ArgumentParser
import RoostCLI

/// The `roost` executable.
@main
enum Roost {
    static func main() async {
        await RoostCommand.main()
    }
}
