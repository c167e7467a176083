// SPDX-License-Identifier: MIT
// The input of bench/heap.sh's real-program row: clang++ -O2 compiling this
// (the standard library's containers, regex and streams, and a recursive
// template) allocates ~4 M times in ~3 s from stacks dozens of frames deep.
#include <algorithm>
#include <deque>
#include <functional>
#include <iostream>
#include <list>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

template <int N> struct Chain {
	static int add(std::map<std::string, std::vector<int>> &m)
	{
		m[std::to_string(N)].push_back(N);
		return Chain<N - 1>::add(m) + N;
	}
};
template <> struct Chain<0> {
	static int add(std::map<std::string, std::vector<int>> &) { return 0; }
};

int main(int argc, char **argv)
{
	std::map<std::string, std::vector<int>> m;
	std::regex re("([a-z]+)([0-9]*)");
	std::unordered_map<std::string, std::set<double>> seen;
	std::deque<std::list<std::string>> d;
	std::stringstream ss;

	ss << argc;
	for (int i = 0; i < argc; i++) {
		std::smatch sm;
		std::string s(argv[i]);
		if (std::regex_match(s, sm, re))
			seen[sm[1]].insert(i);
	}
	std::sort(d.begin(), d.end(), [](auto &a, auto &b) { return a.size() < b.size(); });
	std::cout << Chain<120>::add(m) << ss.str() << seen.size() << std::endl;
}
