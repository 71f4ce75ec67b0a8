import Testing
@testable import Tracer
