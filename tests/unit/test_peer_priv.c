// SPDX-License-Identifier: MIT
/* unix_peer_privileged (who may read every process). */
#include <sys/socket.h>
#include <unistd.h>

#include "peer_priv.h"
#include "test.h"

static void test_socket_peer(void)
{
	int sv[2];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	/* uid 0: root, whatever its capabilities */
	ASSERT_TRUE(unix_peer_privileged(sv[0], 0), "root");
	/* another uid: the peer's capabilities (ours, since we are the peer) */
	ASSERT_EQ(unix_peer_privileged(sv[0], 65534), geteuid() == 0);
	/* not a socket: nothing can be told */
	ASSERT_TRUE(!unix_peer_privileged(-1, 65534), "a bad fd");
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	RUN_TEST(test_socket_peer);
	return TEST_MAIN_END();
}
