// The emulation harnesses' report: ok() prints a line and counts the check, fail() prints a line and exits 1.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>

static int checks = 0;

static void fail(const std::string& what) {
    std::printf("FAIL %s\n", what.c_str());
    std::exit(1);
}
static void ok(const std::string& what) {
    checks++;
    std::printf("ok   %s\n", what.c_str());
}
